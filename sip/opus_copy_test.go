package sip

import (
	"bytes"
	"io"
	"math"
	"testing"

	"dialroom/mixer"
)

// opusCopySpeech is n 20 ms frames of a speech-like 16 kHz signal: a pulse
// train with gliding pitch through a moving resonance, in syllables.
func opusCopySpeech(n int) [][]int16 {
	out := make([][]int16, n)
	var phase, y1, y2 float64
	for k := range out {
		out[k] = make([]int16, mixer.FrameSamples)
		for j := range out[k] {
			t := float64(k*mixer.FrameSamples+j) / 16000
			env := math.Max(0, math.Sin(2*math.Pi*2.7*t))
			phase += (110 + 50*math.Sin(2*math.Pi*0.8*t)) / 16000
			var x float64
			if phase >= 1 {
				phase--
				x = 1
			}
			f := 700 + 400*math.Sin(2*math.Pi*1.1*t)
			y := x + 1.94*math.Cos(2*math.Pi*f/16000)*y1 - 0.9409*y2
			y2, y1 = y1, y
			out[k][j] = int16(max(-30000, min(30000, 1500*env*y)))
		}
	}
	return out
}

func opusCopyEncode(t *testing.T, e mixer.Encoder, pcm []int16) []byte {
	t.Helper()
	buf := make([]byte, mixer.MaxEncodedBytes)
	n, err := e.Encode(buf, pcm)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

// The phone legs' Opus encoder is a mixer.StateCopier: a copy made mid-stream
// (NewCopy, or CopyStateFrom into an encoder with another history) sends the
// same packets as the original from then on, so the mixer can hand a talker
// its own encoder without the caller's decoder noticing.
func TestOpusEncoderCopiesState(t *testing.T) {
	frames := opusCopySpeech(260)
	src, err := newOpusEncoder()
	if err != nil {
		t.Fatal(err)
	}
	defer closeEncoder(src)
	other, err := newOpusEncoder()
	if err != nil {
		t.Fatal(err)
	}
	defer closeEncoder(other)
	sc, ok := src.(mixer.StateCopier)
	if !ok {
		t.Fatal("the Opus encoder is not a mixer.StateCopier")
	}
	for k := range 60 {
		opusCopyEncode(t, src, frames[k])
		opusCopyEncode(t, other, frames[259-k])
	}
	cp, err := sc.NewCopy()
	if err != nil {
		t.Fatal(err)
	}
	defer closeEncoder(cp)
	if !other.(mixer.StateCopier).CopyStateFrom(src) {
		t.Fatal("CopyStateFrom another Opus encoder: false")
	}
	for k := 60; k < 260; k++ {
		want := opusCopyEncode(t, src, frames[k])
		if got := opusCopyEncode(t, cp, frames[k]); !bytes.Equal(got, want) {
			t.Fatalf("frame %d: the NewCopy's packet differs (%d bytes, want %d)", k, len(got), len(want))
		}
		if got := opusCopyEncode(t, other, frames[k]); !bytes.Equal(got, want) {
			t.Fatalf("frame %d: the CopyStateFrom's packet differs (%d bytes, want %d)", k, len(got), len(want))
		}
	}
}

// A copy between an Opus and a G.722 encoder is refused both ways, and so is
// one from a closed encoder.
func TestOpusEncoderRefusesOtherKinds(t *testing.T) {
	o, err := newOpusEncoder()
	if err != nil {
		t.Fatal(err)
	}
	defer closeEncoder(o)
	g, err := newG722Encoder()
	if err != nil {
		t.Fatal(err)
	}
	defer closeEncoder(g)
	if o.(mixer.StateCopier).CopyStateFrom(g) {
		t.Error("Opus encoder took a G.722 encoder's state")
	}
	if g.(mixer.StateCopier).CopyStateFrom(o) {
		t.Error("G.722 encoder took an Opus encoder's state")
	}
	closed, err := newOpusEncoder()
	if err != nil {
		t.Fatal(err)
	}
	closeEncoder(closed)
	if o.(mixer.StateCopier).CopyStateFrom(closed) {
		t.Error("Opus encoder took a closed encoder's state")
	}
	if _, err := closed.(mixer.StateCopier).NewCopy(); err == nil {
		t.Error("NewCopy of a closed encoder: no error")
	}
	if _, err := o.Encode(make([]byte, mixer.MaxEncodedBytes), make([]int16, mixer.FrameSamples)); err != nil {
		t.Errorf("encode after the refusals: %v", err)
	}
}

// The Opus encoder holds C memory, so it is an io.Closer (the mixer closes
// its Frames' encoders, a leg its own); Close is idempotent and an encoder
// used after it fails cleanly.
func TestOpusEncoderClose(t *testing.T) {
	e, err := newOpusEncoder()
	if err != nil {
		t.Fatal(err)
	}
	c, ok := e.(io.Closer)
	if !ok {
		t.Fatal("the Opus encoder is not an io.Closer")
	}
	dst := make([]byte, mixer.MaxEncodedBytes)
	pcm := make([]int16, mixer.FrameSamples)
	if n, err := e.Encode(dst, pcm); err != nil || n == 0 {
		t.Fatalf("encode: %d bytes, %v; want a packet", n, err)
	}
	_ = c.Close()
	_ = c.Close()
	if n, err := e.Encode(dst, pcm); err == nil {
		t.Errorf("encode after Close: %d bytes and no error, want an error", n)
	}
}
