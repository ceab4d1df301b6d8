package loadtest

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"gopkg.in/hraban/opus.v2"
)

// Browser audio: participant 0 is the browser mouth and sends real Opus with
// 2 kHz marker bursts; participants 1..maxEars are ears that decode every
// audio track they receive and time the onsets of both mouths' bursts.
const (
	opusRate    = 48000
	opusFrame   = opusRate / 50 // samples per 20 ms
	maxEars     = 10            // WebRTC participants that decode what they receive
	opusMaxPCM  = 120 * opusRate / 1000
	opusMaxData = 1500
	// opusLookahead is libopus's encoder delay at 48 kHz (2.5 ms plus 4 ms
	// of delay compensation, 312 samples): a burst that starts at the
	// beginning of a frame starts this far into the decoded audio, so that
	// is the "offset in the packet" of the burst's start.
	opusLookahead = 312 * time.Second / opusRate
	// humAmp is what the speaker (WebRTCConfig.Speaker) says between
	// bursts: a 440 Hz hum at about -28 dBov, a voice close to the
	// microphone that keeps it the speaker without touching the markers.
	humAmp = 1800.0
)

// isEar reports whether participant n decodes what it receives.
func isEar(n int) bool { return n >= 1 && n <= maxEars }

// opusMouth makes the browser mouth's frames: 2 kHz bursts while bursts
// are on, silence (or the speaker's hum) otherwise, encoded with libopus.
type opusMouth struct {
	enc    *opus.Encoder
	mk     *Markers
	bursts *atomic.Bool // set by the run during the measured window
	hum    bool
	left   int // frames of the current burst still to send
	n      int // frames made
	pcm    [opusFrame]int16
	data   [opusMaxData]byte
}

func newOpusMouth(mk *Markers, bursts *atomic.Bool, hum bool) (*opusMouth, error) {
	enc, err := opus.NewEncoder(opusRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("loadtest: opus encoder: %w", err)
	}
	return &opusMouth{enc: enc, mk: mk, bursts: bursts, hum: hum}, nil
}

// next encodes the next 20 ms frame. It returns the payload, the frame's
// RFC 6464 level (-dBov, 127 = silence) and whether a burst starts in it.
func (m *opusMouth) next(now time.Time) (payload []byte, level uint8, start bool) {
	defer func() { m.n++ }()
	on := m.bursts.Load()
	start = on && m.left == 0 && m.mk.due(mouthBrowser, now)
	if start {
		m.left = burstLen
	}
	if !on {
		m.left = 0
	}
	switch {
	case m.left > 0:
		toneFrame(m.pcm[:], browserFreq, burstAmp, opusRate, burstLen-m.left)
		m.left--
	case m.hum:
		toneFrame(m.pcm[:], 440, humAmp, opusRate, m.n)
	default:
		clear(m.pcm[:])
	}
	n, err := m.enc.Encode(m.pcm[:], m.data[:])
	if err != nil {
		return opusSilence, 127, false
	}
	return m.data[:n], audioLevel(m.pcm[:]), start
}

// audioLevel is the RFC 6464 level of pcm: its RMS in -dBov, 0..127.
func audioLevel(pcm []int16) uint8 {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	if sum == 0 {
		return 127
	}
	db := -20 * math.Log10(math.Sqrt(sum/float64(len(pcm)))/32768)
	return uint8(min(max(math.Round(db), 0), 127))
}

// opusEar decodes one received audio track for an ear and finds both
// mouths' burst onsets in it.
type opusEar struct {
	dec *opus.Decoder
	det [numMouths]onsetDetector
	pkt rtp.Packet
	pcm [opusMaxPCM]int16
}

func newOpusEar() (*opusEar, error) {
	dec, err := opus.NewDecoder(opusRate, 1) // a stereo stream is mixed down
	if err != nil {
		return nil, fmt.Errorf("loadtest: opus decoder: %w", err)
	}
	return &opusEar{dec: dec, det: [numMouths]onsetDetector{
		newOnsetDetector(burstFreq, opusRate), newOnsetDetector(browserFreq, opusRate)}}, nil
}

// packet decodes one RTP packet that was read at now and records the
// onsets in it at ear.
func (e *opusEar) packet(buf []byte, now time.Time, ear *earLog) {
	if err := e.pkt.Unmarshal(buf); err != nil || len(e.pkt.Payload) == 0 {
		return
	}
	n, err := e.dec.Decode(e.pkt.Payload, e.pcm[:])
	if err != nil {
		return
	}
	e.feed(e.pcm[:n], now, ear)
}

// feed scans decoded audio that arrived at now.
func (e *opusEar) feed(pcm []int16, now time.Time, ear *earLog) {
	for m := range e.det {
		if off := e.det[m].feed(pcm); off >= 0 {
			ear.heard(m, now.Add(time.Duration(off)*time.Second/opusRate))
		}
	}
}
