package mixer

import (
	"time"

	"github.com/pion/rtp"
	"gopkg.in/hraban/opus.v2"
)

// voiceEncoder turns a phone caller's frames into Opus for the browsers, at
// the caller's own rate: libopus takes 8 kHz (G.711) and 16 kHz (G.722, Opus)
// input directly, so a narrowband caller costs no resampling and a wideband
// caller stays wideband. The RTP clock stays 48 kHz (RFC 7587).
type voiceEncoder struct {
	enc  *opus.Encoder
	rate int
	buf  [MaxEncodedBytes]byte
}

func newVoiceEncoder(rate int) (*voiceEncoder, error) {
	enc, err := opus.NewEncoder(rate, 1, opus.AppVoIP)
	if err != nil {
		return nil, err
	}
	// Speech needs little: 24 kbit/s is transparent for a phone line, 32 kbit/s
	// for wideband voice.
	bitrate := 24000
	if rate > NarrowRate {
		bitrate = 32000
	}
	if err := enc.SetBitrate(bitrate); err != nil {
		return nil, err
	}
	return &voiceEncoder{enc: enc, rate: rate}, nil
}

// encode returns the Opus packet for one frame; the slice is valid until the
// next call. Frames of another size are not encodable and are skipped.
func (v *voiceEncoder) encode(pcm []int16) ([]byte, bool) {
	if len(pcm) != v.rate/50 {
		return nil, false
	}
	n, err := v.enc.Encode(pcm, v.buf[:])
	if err != nil {
		return nil, false
	}
	return v.buf[:n], true
}

// maxOpusPacket is the largest Opus packet (RFC 6716 section 3.2.1).
const maxOpusPacket = MaxEncodedBytes

// opusFrame48k is one 20 ms Opus frame in RTP timestamp units (48 kHz, RFC 7587).
const opusFrame48k = 960

// opusSlot is one buffered browser packet.
type opusSlot struct {
	n     int
	level int // quarter-dBov from the RFC 6464 header; 1 when the packet had none
	data  [maxOpusPacket]byte
}

// browserSource is one browser audio track as a mixer input. Its packets wait
// in a jitter buffer as Opus; they are decoded only while the track is one of
// the room's talkers (levels come from the RFC 6464 header). A track without
// that header is decoded every tick so its level can be measured.
type browserSource struct {
	// Guarded by room.mu: written by OnAudio, read by the tick.
	jb       jitterCore
	slots    [jbSlots]opusSlot
	lastSeen time.Time

	// Owned by the tick goroutine.
	dec      *opus.Decoder
	talk     talkState
	cur      opusSlot // this tick's packet, copied out of the jitter buffer
	res      popResult
	fec      opusSlot // the packet after a lost one, for in-band FEC
	hasFEC   bool
	frame    [FrameSamples]int16
	pcm      [6 * FrameSamples]int16 // up to 120 ms, the longest Opus packet
	hasFrame bool
}

func newBrowserSource(c *counters) (*browserSource, error) {
	dec, err := opus.NewDecoder(SampleRate, 1)
	if err != nil {
		return nil, err
	}
	return &browserSource{dec: dec, jb: newJitterCore(c), talk: talkState{level: levelFloor}}, nil
}

// insert buffers pkt (the owner holds room.mu). levelID is the negotiated
// RFC 6464 extension ID, 0 when unknown.
func (s *browserSource) insert(pkt *rtp.Packet, levelID uint8, now time.Time) {
	if len(pkt.Payload) == 0 || len(pkt.Payload) > maxOpusPacket {
		return
	}
	// The frame index comes from the timestamp, not the sequence number:
	// across Opus DTX the sequence continues while time jumps.
	idx, ok := s.jb.insert(uint16(pkt.Timestamp/opusFrame48k), now)
	if !ok {
		return
	}
	sl := &s.slots[idx]
	sl.n = copy(sl.data[:], pkt.Payload)
	sl.level = 1
	if l, ok := audioLevel(pkt, levelID); ok {
		sl.level = rfc6464Level(l)
	}
}

// take moves this tick's packet out of the jitter buffer (room.mu held).
func (s *browserSource) take(ts *tickStats, now time.Time) {
	ts.observeDepth(s.jb.depth())
	idx, res := s.jb.pop(now)
	if res == popDrop {
		idx, res = s.jb.pop(now)
	}
	s.res, s.hasFEC = res, false
	switch res {
	case popFrame:
		s.cur.n, s.cur.level = s.slots[idx].n, s.slots[idx].level
		copy(s.cur.data[:s.cur.n], s.slots[idx].data[:s.slots[idx].n])
	case popLost:
		if i, ok := s.jb.peek(s.jb.next); ok {
			s.fec.n = copy(s.fec.data[:], s.slots[i].data[:s.slots[i].n])
			s.hasFEC = true
		}
	}
}

// needsDecode reports whether this tick's audio must be decoded: for a talker,
// and for a track without level headers (its level is its decoded energy).
func (s *browserSource) needsDecode() bool {
	return s.res != popNone && (s.talk.talker || s.cur.level == 1)
}

// decode produces this tick's frame: the packet, FEC from the next packet for
// a lost one, or Opus PLC. It reports whether the frame holds audio.
func (s *browserSource) decode(c *counters, ts *tickStats) bool {
	var err error
	switch s.res {
	case popFrame:
		var n int
		n, err = s.dec.Decode(s.cur.data[:s.cur.n], s.pcm[:])
		if err == nil {
			// Frames longer than 20 ms are cut to one tick; browsers send 20 ms.
			copy(s.frame[:], s.pcm[:min(n, FrameSamples)])
			clear(s.frame[min(n, FrameSamples):])
		}
	case popLost:
		if s.hasFEC {
			if err = s.dec.DecodeFEC(s.fec.data[:s.fec.n], s.frame[:]); err == nil {
				c.fec.Add(1)
				break
			}
		}
		err = s.dec.DecodePLC(s.frame[:])
	case popStretch:
		err = s.dec.DecodePLC(s.frame[:])
	default:
		return false
	}
	ts.decodes++
	return err == nil
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
