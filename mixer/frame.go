package mixer

import (
	"sync"
	"sync/atomic"
)

// FrameEncodings is how many encodings of one frame a Frame can hold (Encoded's
// slot argument is below it).
const FrameEncodings = 4

// Frame is one tick's audio for one or more phone legs, with its encodings
// made once and shared: every non-talker of a room gets the same Frame, so
// with a thousand listeners the room's mix is G.711-encoded once per codec
// per tick, not once per leg. A talker gets a Frame of its own (its N-1 mix).
//
// A Frame is valid only during the WriteFrame call it is handed to; legs of
// one tick may call Encoded concurrently.
type Frame struct {
	pcm [FrameSamples]int16

	mu  sync.Mutex
	enc [FrameEncodings]frameEncoding
}

type frameEncoding struct {
	ready atomic.Bool // set once data holds this tick's encoding
	n     int
	data  [FrameSamples]byte
}

// NewFrame returns a Frame holding pcm (FrameSamples of it; fewer are
// padded with silence), for legs' tests and callers outside a room.
func NewFrame(pcm []int16) *Frame {
	f := &Frame{}
	copy(f.pcm[:], pcm)
	return f
}

// PCM returns the frame's samples (FrameSamples of 8 kHz PCM). Read only.
func (f *Frame) PCM() []int16 { return f.pcm[:] }

// Encoded returns the frame encoded by encode, which writes at most one byte
// per sample into dst and returns how many it wrote (sip.EncodeULaw has that
// shape). slot names the encoding (below FrameEncodings; e.g. 0 for PCMU, 1 for
// PCMA): the first leg that asks for a slot in a tick encodes, the others get
// the same bytes. The result is read only and valid until WriteFrame returns.
func (f *Frame) Encoded(slot int, encode func(dst []byte, pcm []int16) int) []byte {
	if slot < 0 || slot >= FrameEncodings {
		return nil
	}
	e := &f.enc[slot]
	if !e.ready.Load() {
		f.mu.Lock()
		if !e.ready.Load() {
			e.n = encode(e.data[:], f.pcm[:])
			e.ready.Store(true)
		}
		f.mu.Unlock()
	}
	return e.data[:e.n]
}

// reset forgets the previous tick's encodings; the tick goroutine calls it
// before the frame is handed out.
func (f *Frame) reset() {
	for i := range f.enc {
		f.enc[i].ready.Store(false)
	}
}

// FrameLeg is a Leg that takes the room's audio as a Frame, so legs with the
// same codec share one encode. The mixer calls WriteFrame instead of
// WriteAudio for legs that implement it; the same rules apply (no blocking,
// no reference to f after it returns).
type FrameLeg interface {
	Leg
	WriteFrame(f *Frame)
}
