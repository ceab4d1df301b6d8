package mixer

import (
	"io"
	"sync"
	"sync/atomic"
)

// FrameEncodings is how many encodings of one frame a Frame can hold (the
// slot argument of Encoded and EncodedWith is below it). By convention the sip
// package uses 0 for PCMU, 1 for PCMA, 2 for G.722 and 3 for Opus.
const FrameEncodings = 4

// MaxEncodedBytes is the room an encoder gets for one frame: the largest
// Opus packet (RFC 6716 section 3.2.1).
const MaxEncodedBytes = 1275

// Encoder is a stateful encoder of 16 kHz frames (G.722, Opus) that a Frame
// keeps across ticks (see EncodedWith). Encode writes at most
// MaxEncodedBytes into dst. An Encoder that holds resources other than Go
// memory (libspandsp, libopus) also implements io.Closer: the mixer closes it
// when its Frame is done (the member left, the room closed).
type Encoder interface {
	Encode(dst []byte, pcm []int16) (int, error)
}

// StateCopier is an Encoder whose state can be copied (G.722's ADPCM state is
// a small plain struct, libopus's encoder one block without pointers). A leg that starts
// talking moves from the room's stream to its own Frame's; with a
// StateCopier its own encoder starts in the state the room's encoder had
// before this tick, so the caller's decoder never sees the switch.
type StateCopier interface {
	Encoder
	NewCopy() (Encoder, error)      // a new encoder in the same state
	CopyStateFrom(src Encoder) bool // take src's state; false if src is another kind
}

// Frame is one tick's audio for one or more phone legs, with its encodings
// made once and shared: every non-talker of a room gets the same Frame, so
// with a thousand listeners the room's mix is encoded once per codec per
// tick, not once per leg, and resampled to 8 kHz once. A talker gets a Frame
// of its own (its N-1 mix).
//
// A Frame holds its audio at 16 kHz (Wide) and at 8 kHz (PCM); whichever was
// not given is made from the other the first time a leg asks for it in the
// tick. The resamplers and the encoders of EncodedWith stay with the Frame
// from tick to tick, so their streams are continuous.
//
// A Frame's audio is valid only during the WriteFrame call it is handed to;
// legs of one tick may call its methods concurrently.
type Frame struct {
	mu     sync.Mutex
	have   atomic.Uint32 // haveWide | haveNarrow: which of the two is this tick's
	wide   [FrameSamples]int16
	narrow [NarrowSamples]int16
	down   Downsampler
	up     Upsampler

	enc      [FrameEncodings]frameEncoding
	encoders [FrameEncodings]Encoder // EncodedWith's, kept across ticks
	encErr   [FrameEncodings]bool    // creating the encoder failed: do not retry every tick

	// For the room's shared Frame: its StateCopier encoders' state before
	// this tick's encode, taken in startTick, read by talkers' Frames.
	snap [FrameEncodings]Encoder
	// For a talker's own Frame: the room's shared Frame, and whether this
	// tick starts a talk spell (the Frame was not used in the last tick).
	seed  *Frame
	fresh bool
}

const (
	haveWide = 1 << iota
	haveNarrow
)

type frameEncoding struct {
	ready atomic.Bool // set once data holds this tick's encoding
	n     int
	data  [MaxEncodedBytes]byte
}

// NewFrame returns a Frame holding pcm, for legs' tests and callers outside a
// room: NarrowSamples of 8 kHz PCM or FrameSamples of 16 kHz (other lengths
// are padded with silence or cut at 8 kHz).
func NewFrame(pcm []int16) *Frame {
	f := &Frame{}
	if len(pcm) == FrameSamples {
		copy(f.wide[:], pcm)
		f.have.Store(haveWide)
		return f
	}
	copy(f.narrow[:], pcm)
	f.have.Store(haveNarrow)
	return f
}

// startTick makes what the tick goroutine wrote into f.wide this tick's audio:
// the previous tick's 8 kHz version and encodings are forgotten. Called before
// the frame is handed out; fresh says the frame was not used in the previous
// tick, so its resamplers start from silence instead of stale history.
func (f *Frame) startTick(fresh bool) {
	if fresh {
		f.down.Reset()
	}
	f.fresh = fresh
	for i := range f.enc {
		f.enc[i].ready.Store(false)
	}
	f.have.Store(haveWide)
	if f.seed == nil { // the room's Frame: snapshots for talkers' Frames
		f.snapshot()
	}
}

// snapshot copies the state of f's StateCopier encoders before this tick's
// encode into f.snap (tick goroutine, before the frame is handed out).
func (f *Frame) snapshot() {
	for i, e := range f.encoders {
		sc, ok := e.(StateCopier)
		if !ok {
			continue
		}
		if snap, ok := f.snap[i].(StateCopier); ok && snap.CopyStateFrom(sc) {
			continue
		}
		closeEncoder(f.snap[i])
		f.snap[i], _ = sc.NewCopy()
	}
}

// endTick runs after every leg had this tick's frame: when nobody asked for
// the 8 kHz version, the downsampler still takes the tick's audio into its
// history, so that the next tick that needs it joins without a seam.
func (f *Frame) endTick() {
	if f.have.Load()&haveNarrow == 0 && f.have.Load()&haveWide != 0 {
		f.down.Skip(f.wide[:])
	}
}

// closeEncoders closes the Frame's encoders that hold outside resources; the
// tick goroutine calls it when no leg can use the Frame any more.
func (f *Frame) closeEncoders() {
	for i := range f.encoders {
		closeEncoder(f.encoders[i])
		closeEncoder(f.snap[i])
		f.encoders[i], f.snap[i] = nil, nil
	}
}

func closeEncoder(e Encoder) {
	if c, ok := e.(io.Closer); ok {
		_ = c.Close()
	}
}

// PCM returns the frame at 8 kHz (NarrowSamples). Read only.
func (f *Frame) PCM() []int16 {
	if f.have.Load()&haveNarrow == 0 {
		f.mu.Lock()
		if h := f.have.Load(); h&haveNarrow == 0 {
			f.down.Process(f.narrow[:], f.wide[:])
			f.have.Store(h | haveNarrow)
		}
		f.mu.Unlock()
	}
	return f.narrow[:]
}

// Wide returns the frame at 16 kHz (FrameSamples). Read only.
func (f *Frame) Wide() []int16 {
	if f.have.Load()&haveWide == 0 {
		f.mu.Lock()
		if h := f.have.Load(); h&haveWide == 0 {
			f.up.Process(f.wide[:], f.narrow[:])
			f.have.Store(h | haveWide)
		}
		f.mu.Unlock()
	}
	return f.wide[:]
}

// Encoded returns the frame's 8 kHz audio encoded by encode, a stateless
// encoder that writes at most one byte per sample into dst and returns how
// many it wrote (sip.EncodeULaw has that shape). slot names the encoding: the
// first leg that asks for a slot in a tick encodes, the others get the same
// bytes. The result is read only and valid until WriteFrame returns.
func (f *Frame) Encoded(slot int, encode func(dst []byte, pcm []int16) int) []byte {
	if slot < 0 || slot >= FrameEncodings {
		return nil
	}
	pcm := f.PCM()
	return f.encoded(slot, func(dst []byte) int { return encode(dst[:NarrowSamples], pcm) })
}

// EncodedWith returns the frame's 16 kHz audio encoded by the Frame's own
// encoder in slot, created by newEnc the first time the slot is used and kept
// across ticks: the room's shared Frame thus has one encoder per codec whose
// stream every non-talking leg with that codec receives, and a talker's Frame
// has its own. It returns nil when newEnc or the encoding fails (a failed
// newEnc is not retried for this Frame). Read only; valid until WriteFrame
// returns.
func (f *Frame) EncodedWith(slot int, newEnc func() (Encoder, error)) []byte {
	if slot < 0 || slot >= FrameEncodings {
		return nil
	}
	pcm := f.Wide()
	return f.encoded(slot, func(dst []byte) int {
		f.continueSeed(slot)
		if f.encoders[slot] == nil {
			if f.encErr[slot] {
				return 0
			}
			e, err := newEnc()
			if err != nil || e == nil {
				f.encErr[slot] = true
				return 0
			}
			f.encoders[slot] = e
		}
		n, err := f.encoders[slot].Encode(dst, pcm)
		if err != nil {
			return 0
		}
		return n
	})
}

// continueSeed starts a talker's own encoder where the room's stream stands
// (f.mu held): on the first tick of a talk spell, the leg's phone has been
// decoding the room's stream until now.
func (f *Frame) continueSeed(slot int) {
	if !f.fresh || f.seed == nil {
		return
	}
	src, ok := f.seed.snap[slot].(StateCopier)
	if !ok {
		return
	}
	if own, ok := f.encoders[slot].(StateCopier); ok && own.CopyStateFrom(src) {
		return
	}
	if e, err := src.NewCopy(); err == nil {
		closeEncoder(f.encoders[slot])
		f.encoders[slot] = e
	}
}

// encoded runs encode once per tick for slot (under f.mu) and returns its bytes.
func (f *Frame) encoded(slot int, encode func(dst []byte) int) []byte {
	e := &f.enc[slot]
	if !e.ready.Load() {
		f.mu.Lock()
		if !e.ready.Load() {
			e.n = max(0, min(encode(e.data[:]), len(e.data)))
			e.ready.Store(true)
		}
		f.mu.Unlock()
	}
	if e.n == 0 {
		return nil
	}
	return e.data[:e.n]
}

// FrameLeg is a Leg that takes the room's audio as a Frame, so legs with the
// same codec share one encode. The mixer calls WriteFrame instead of
// WriteAudio for legs that implement it; the same rules apply (no blocking,
// no reference to f after it returns).
type FrameLeg interface {
	Leg
	WriteFrame(f *Frame)
}
