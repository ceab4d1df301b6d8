package mixer

import (
	"sync"
	"time"

	"github.com/pion/rtp"
	"gopkg.in/hraban/opus.v2"
)

// voiceEncoder turns a phone caller's 8 kHz frames into Opus for the browsers.
// libopus takes 8 kHz input directly; the RTP clock stays 48 kHz (RFC 7587).
type voiceEncoder struct {
	enc *opus.Encoder
	buf [1275]byte // the largest Opus packet (RFC 6716 section 3.2.1)
}

func newVoiceEncoder() (*voiceEncoder, error) {
	enc, err := opus.NewEncoder(SampleRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, err
	}
	// Narrowband speech needs little: 24 kbit/s is transparent for a phone line.
	if err := enc.SetBitrate(24000); err != nil {
		return nil, err
	}
	return &voiceEncoder{enc: enc}, nil
}

// encode returns the Opus packet for one frame; the slice is valid until the
// next call. Frames of another size are not encodable and are skipped.
func (v *voiceEncoder) encode(pcm []int16) ([]byte, bool) {
	if len(pcm) != FrameSamples {
		return nil, false
	}
	n, err := v.enc.Encode(pcm, v.buf[:])
	if err != nil {
		return nil, false
	}
	return v.buf[:n], true
}

// maxConcealed is how many lost packets in a row are filled by Opus PLC; a longer
// gap is a pause (DTX, mute) and is left silent.
const maxConcealed = 3

// browserSource is one browser audio track as a mixer input.
type browserSource struct {
	decMu   sync.Mutex // serialises decode; one reader goroutine per track
	dec     *opus.Decoder
	started bool
	lastSeq uint16
	pcm     [6 * FrameSamples]int16 // up to 120 ms, the longest Opus packet

	// Guarded by room.mu.
	in       pcmQueue
	lastSeen time.Time

	// Owned by the tick goroutine.
	frame [FrameSamples]int16
}

func newBrowserSource() (*browserSource, error) {
	dec, err := opus.NewDecoder(SampleRate, 1)
	if err != nil {
		return nil, err
	}
	return &browserSource{dec: dec}, nil
}

// decode returns the 8 kHz PCM for pkt, preceded by concealment for a short gap
// in sequence numbers. Late or duplicate packets give nothing.
func (s *browserSource) decode(pkt *rtp.Packet) []int16 {
	n := 0
	if s.started {
		gap := int16(pkt.SequenceNumber - s.lastSeq)
		if gap <= 0 {
			return nil // duplicate or reordered behind playout
		}
		for lost := int(gap) - 1; lost > 0 && lost <= maxConcealed && n+FrameSamples <= len(s.pcm)/2; lost-- {
			if s.dec.DecodePLC(s.pcm[n:n+FrameSamples]) == nil {
				n += FrameSamples
			}
		}
	}
	s.started, s.lastSeq = true, pkt.SequenceNumber
	if len(pkt.Payload) == 0 {
		return s.pcm[:n]
	}
	got, err := s.dec.Decode(pkt.Payload, s.pcm[n:])
	if err != nil {
		return s.pcm[:n]
	}
	return s.pcm[:n+got]
}

// speakingDetector turns frame energies into a speaking state with hysteresis:
// speech must last onsetFrames to count (a click does not light a tile) and
// silence releaseFrames to end (pauses between words do not flicker).
type speakingDetector struct {
	speaking     bool
	above, below int
}

const (
	speakingThreshold = 300 * 300 // mean square of about -40 dBFS
	onsetFrames       = 2         // 40 ms
	releaseFrames     = 20        // 400 ms
)

// update feeds one frame's mean square energy and reports a state change.
func (d *speakingDetector) update(ms int64) (changed, speaking bool) {
	if ms >= speakingThreshold {
		d.above, d.below = d.above+1, 0
	} else {
		d.above, d.below = 0, d.below+1
	}
	switch {
	case !d.speaking && d.above >= onsetFrames:
		d.speaking = true
		return true, true
	case d.speaking && d.below >= releaseFrames:
		d.speaking = false
		return true, false
	}
	return false, d.speaking
}
