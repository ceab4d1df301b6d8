package loadtest

import (
	"encoding/binary"
	"math/rand/v2"
	"sync/atomic"
)

// Synthetic VP8: frames with a valid VP8 frame header (RFC 6386 section
// 9.1) so that an SFU can tell keyframes from delta frames and read the
// picture size, and random bytes after it. Nothing decodes them, and SRTP
// encrypts them, so the random bytes are made once per source: only the
// frames' sizes and headers change.
const (
	videoFPS           = 30
	keyframeEvery      = 3 * videoFPS // frames: one keyframe every 3 s
	keyMinBytes        = 20 << 10     // keyframe sizes at the reference bitrate
	keyMaxBytes        = 60 << 10
	deltaMinBytes      = 2 << 10 // delta frame sizes at the reference bitrate
	deltaMaxBytes      = 6 << 10
	referenceVideoKbps = 1050 // the mean bitrate of the sizes above
)

// vp8Source makes the frames of one synthetic camera (or one simulcast
// layer, scaled by its share of the bitrate).
type vp8Source struct {
	rnd           *rand.Rand
	scale         float64 // frame size multiplier: kbps / referenceVideoKbps
	width, height uint16
	n             int         // frames made
	keyNow        atomic.Bool // the next frame is a keyframe (someone sent a PLI or FIR)
	buf           []byte
}

func newVP8Source(seed uint64, kbps int, width, height uint16) *vp8Source {
	return &vp8Source{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		scale: float64(kbps) / referenceVideoKbps, width: width, height: height}
}

// next returns the next frame (valid until the following call) and whether
// it is a keyframe. The first frame is a keyframe.
func (s *vp8Source) next() ([]byte, bool) {
	key, size := s.step()
	if cap(s.buf) < size {
		s.buf = make([]byte, max(size, keyMaxBytes))
		for i := 0; i+8 <= len(s.buf); i += 8 {
			binary.LittleEndian.PutUint64(s.buf[i:], s.rnd.Uint64())
		}
	}
	b := s.buf[:size]
	vp8Header(b, key, s.width, s.height)
	return b, key
}

// skip passes over the next frame without making it (a paused simulcast
// layer keeps its keyframe schedule) and reports whether it was a keyframe.
func (s *vp8Source) skip() bool {
	key, _ := s.step()
	return key
}

// step advances to the next frame and returns whether it is a keyframe and
// its size.
func (s *vp8Source) step() (key bool, size int) {
	key = s.n%keyframeEvery == 0
	if s.keyNow.Swap(false) {
		key, s.n = true, 0 // the regular keyframes follow from here
	}
	s.n++
	lo, hi := deltaMinBytes, deltaMaxBytes
	if key {
		lo, hi = keyMinBytes, keyMaxBytes
	}
	return key, max(int(float64(lo+s.rnd.IntN(hi-lo+1))*s.scale), 16)
}

// vp8Header writes the 3-byte frame tag (and for keyframes the start code and
// size) at the start of b, which is at least 10 bytes long.
func vp8Header(b []byte, key bool, width, height uint16) {
	// Frame tag: bit 0 = !keyframe, bits 1-3 version 0, bit 4 show_frame,
	// bits 5-23 first partition size (kept small and inside the frame).
	part := uint32(min(len(b)-10, 0x7ffff))
	tag := uint32(1<<4) | part<<5
	if !key {
		tag |= 1
	}
	b[0], b[1], b[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	if key {
		b[3], b[4], b[5] = 0x9d, 0x01, 0x2a
		binary.LittleEndian.PutUint16(b[6:], width&0x3fff)
		binary.LittleEndian.PutUint16(b[8:], height&0x3fff)
	}
}

// vp8IsKeyframe reports whether a VP8 frame (not an RTP payload) is a keyframe.
func vp8IsKeyframe(frame []byte) bool {
	return len(frame) >= 10 && frame[0]&1 == 0 && frame[3] == 0x9d && frame[4] == 0x01 && frame[5] == 0x2a
}
