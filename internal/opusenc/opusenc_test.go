package opusenc

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"gopkg.in/hraban/opus.v2"
)

const (
	rate  = 16000
	frame = rate / 50 // 20 ms
)

// speech returns n samples at 16 kHz that look like speech to an encoder:
// syllables of a glottal pulse train (pitch gliding 100-220 Hz) through two
// moving formant resonators, with breath noise and pauses.
func speech(n int, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]int16, n)
	var phase float64
	var y1, y2, z1, z2 float64 // the two resonators' memories
	for i := range out {
		t := float64(i) / rate
		syl := math.Sin(math.Pi * math.Mod(t*3.1, 1)) // 3 syllables/s envelope
		voiced := syl > 0.25
		pitch := 100 + 60*(1+math.Sin(2*math.Pi*0.7*t))
		phase += pitch / rate
		var x float64
		if phase >= 1 {
			phase--
			if voiced {
				x = 1
			}
		}
		x += 0.02 * r.NormFloat64()
		f1 := 500 + 300*math.Sin(2*math.Pi*1.3*t)
		f2 := 1500 + 700*math.Sin(2*math.Pi*0.9*t)
		y := resonate(x, f1, 0.97, &y1, &y2)
		z := resonate(y, f2, 0.95, &z1, &z2)
		out[i] = int16(max(-32000, min(32000, 9000*syl*z)))
	}
	return out
}

// resonate is a two-pole resonator at f Hz with pole radius rad.
func resonate(x, f, rad float64, m1, m2 *float64) float64 {
	y := x + 2*rad*math.Cos(2*math.Pi*f/rate)**m1 - rad*rad**m2
	*m2, *m1 = *m1, y
	return y * (1 - rad)
}

// phoneEncoder is an encoder with the settings of the sip package's Opus legs.
func phoneEncoder(t testing.TB) *Encoder {
	t.Helper()
	e, err := New(rate, 1, AppVoIP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Free)
	for _, err := range []error{
		e.SetBitrate(28000), e.SetInBandFEC(true), e.SetPacketLossPerc(5),
		e.SetComplexity(5), e.SetMaxBandwidth(Wideband),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func encode(t testing.TB, e *Encoder, pcm []int16) []byte {
	t.Helper()
	var buf [1275]byte
	n, err := e.Encode(buf[:], pcm)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf[:n]...)
}

// TestCopyMidStreamIsByteIdentical: an encoder copied mid-stream (by NewCopy
// and by CopyStateFrom into an encoder with other settings and history)
// produces exactly the source's packets for the next 200 frames; a fresh
// encoder with the same settings does not.
func TestCopyMidStreamIsByteIdentical(t *testing.T) {
	const before, after = 75, 200
	pcm := speech((before+after)*frame, 7)
	src := phoneEncoder(t)
	other, err := New(rate, 1, AppVoIP)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Free()
	if err := other.SetBitrate(64000); err != nil {
		t.Fatal(err)
	}
	for k := range before {
		encode(t, src, pcm[k*frame:(k+1)*frame])
		encode(t, other, pcm[(before-1-k)*frame:(before-k)*frame]) // another history
	}
	cp, err := src.NewCopy()
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Free()
	if err := other.CopyStateFrom(src); err != nil {
		t.Fatal(err)
	}
	if b, _ := other.Bitrate(); b != 28000 {
		t.Errorf("bitrate after the copy: got %d, want the source's 28000", b)
	}
	fresh := phoneEncoder(t)
	freshSame := 0
	for k := before; k < before+after; k++ {
		in := pcm[k*frame : (k+1)*frame]
		want := encode(t, src, in)
		if got := encode(t, cp, in); !bytes.Equal(got, want) {
			t.Fatalf("frame %d: NewCopy's packet differs (%d bytes, want %d)", k-before, len(got), len(want))
		}
		if got := encode(t, other, in); !bytes.Equal(got, want) {
			t.Fatalf("frame %d: CopyStateFrom's packet differs (%d bytes, want %d)", k-before, len(got), len(want))
		}
		if bytes.Equal(encode(t, fresh, in), want) {
			freshSame++
		}
	}
	t.Logf("%s: %d of %d packets of the copies identical; a fresh encoder matched %d", Version(), after, after, freshSame)
	if freshSame == after {
		t.Errorf("a fresh encoder produced the same %d packets: the test cannot tell a copy from a new encoder", after)
	}
}

// TestCopyIndependentOfSource checks the premise of the package on the
// libopus in use: the state block holds no pointer into itself, and a copy
// keeps working, byte for byte like an encoder that was fed the same audio
// from the start, after its source's memory is overwritten with garbage.
func TestCopyIndependentOfSource(t *testing.T) {
	const before, after = 50, 200
	pcm := speech((before+after)*frame, 13)
	src, ref := phoneEncoder(t), phoneEncoder(t)
	for k := range before {
		encode(t, src, pcm[k*frame:(k+1)*frame])
		encode(t, ref, pcm[k*frame:(k+1)*frame])
	}
	cp, err := src.NewCopy()
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Free()
	block := unsafe.Slice((*byte)(unsafe.Pointer(src.st)), int(src.size))
	lo, hi := uintptr(unsafe.Pointer(src.st)), uintptr(unsafe.Pointer(src.st))+uintptr(src.size)
	for _, b := range [][]byte{block, unsafe.Slice((*byte)(unsafe.Pointer(cp.st)), int(cp.size))} {
		for i := 0; i+8 <= len(b); i += 8 {
			if v := *(*uintptr)(unsafe.Pointer(&b[i])); v >= lo && v < hi {
				t.Errorf("word at offset %d holds %#x, an address inside the source's state block", i, v)
			}
		}
	}
	for i := range block {
		block[i] = 0xA5
	}
	for k := before; k < before+after; k++ {
		in := pcm[k*frame : (k+1)*frame]
		if got, want := encode(t, cp, in), encode(t, ref, in); !bytes.Equal(got, want) {
			t.Fatalf("frame %d: the copy's packet differs from a continuous encoder's once the source is overwritten", k-before)
		}
	}
	src.Free() // opus_encoder_destroy only frees the block
}

// TestCopyRefusesOtherLayouts: a copy between encoders of another sample
// rate, channel count or application is refused, and the target goes on as
// if nothing happened.
func TestCopyRefusesOtherLayouts(t *testing.T) {
	pcm := speech(40*frame, 3)
	for _, tc := range []struct {
		name     string
		rate, ch int
		app      Application
	}{
		{"rate", 48000, 1, AppVoIP},
		{"channels", rate, 2, AppVoIP},
		{"application", rate, 1, AppAudio},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := New(tc.rate, tc.ch, tc.app)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Free()
			dst, twin := phoneEncoder(t), phoneEncoder(t)
			for k := range 20 {
				encode(t, dst, pcm[k*frame:(k+1)*frame])
				encode(t, twin, pcm[k*frame:(k+1)*frame])
			}
			if err := dst.CopyStateFrom(src); !errors.Is(err, ErrMismatch) {
				t.Fatalf("copy from %d Hz %d ch app %d: got %v, want ErrMismatch", tc.rate, tc.ch, tc.app, err)
			}
			if err := src.CopyStateFrom(dst); !errors.Is(err, ErrMismatch) {
				t.Fatalf("reverse copy: got %v, want ErrMismatch", err)
			}
			for k := 20; k < 40; k++ {
				in := pcm[k*frame : (k+1)*frame]
				if !bytes.Equal(encode(t, dst, in), encode(t, twin, in)) {
					t.Fatalf("frame %d: the refused copy changed the target", k)
				}
			}
		})
	}
}

// TestFreedEncoderFailsCleanly: every method of a freed encoder returns
// ErrFreed; Free is idempotent; a copy to or from it is refused.
func TestFreedEncoderFailsCleanly(t *testing.T) {
	e, live := phoneEncoder(t), phoneEncoder(t)
	e.Free()
	e.Free()
	var buf [1275]byte
	pcm := make([]int16, frame)
	if _, err := e.Encode(buf[:], pcm); !errors.Is(err, ErrFreed) {
		t.Errorf("Encode: got %v, want ErrFreed", err)
	}
	if _, err := e.NewCopy(); !errors.Is(err, ErrFreed) {
		t.Errorf("NewCopy: got %v, want ErrFreed", err)
	}
	if err := e.CopyStateFrom(live); !errors.Is(err, ErrFreed) {
		t.Errorf("CopyStateFrom into freed: got %v, want ErrFreed", err)
	}
	if err := live.CopyStateFrom(e); !errors.Is(err, ErrFreed) {
		t.Errorf("CopyStateFrom from freed: got %v, want ErrFreed", err)
	}
	if err := live.CopyStateFrom(nil); !errors.Is(err, ErrFreed) {
		t.Errorf("CopyStateFrom(nil): got %v, want ErrFreed", err)
	}
	for name, err := range map[string]error{
		"bitrate": e.SetBitrate(20000), "complexity": e.SetComplexity(1), "fec": e.SetInBandFEC(true),
		"loss": e.SetPacketLossPerc(1), "bandwidth": e.SetMaxBandwidth(Narrowband), "dtx": e.SetDTX(true),
	} {
		if !errors.Is(err, ErrFreed) {
			t.Errorf("Set %s: got %v, want ErrFreed", name, err)
		}
	}
	if _, err := e.Bitrate(); !errors.Is(err, ErrFreed) {
		t.Errorf("Bitrate: got %v, want ErrFreed", err)
	}
	if _, err := live.Encode(buf[:], pcm); err != nil {
		t.Errorf("the other encoder: %v", err)
	}
}

// TestBadArguments: libopus's refusals come back as errors.
func TestBadArguments(t *testing.T) {
	for _, tc := range []struct{ rate, ch int }{{44100, 1}, {16000, 0}, {16000, 3}} {
		if e, err := New(tc.rate, tc.ch, AppVoIP); err == nil {
			e.Free()
			t.Errorf("New(%d, %d): no error", tc.rate, tc.ch)
		}
	}
	if e, err := New(rate, 1, Application(12345)); err == nil {
		e.Free()
		t.Error("New with an unknown application: no error")
	}
	e := phoneEncoder(t)
	var buf [1275]byte
	if _, err := e.Encode(buf[:], make([]int16, 100)); err == nil {
		t.Error("Encode of 100 samples (no Opus frame size): no error")
	} else if !errors.As(err, new(Error)) {
		t.Errorf("Encode of 100 samples: got %v, want an Error", err)
	}
	if _, err := e.Encode(buf[:], nil); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("Encode of no samples: got %v, want ErrShortBuffer", err)
	}
	if _, err := e.Encode(nil, make([]int16, frame)); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("Encode into no buffer: got %v, want ErrShortBuffer", err)
	}
	if err := e.SetComplexity(11); err == nil {
		t.Error("SetComplexity(11): no error")
	}
	if _, err := e.Encode(buf[:], make([]int16, frame)); err != nil {
		t.Errorf("Encode after the refusals: %v", err)
	}
}

// TestPacketsDecode: what the encoder makes decodes with libopus's decoder
// (through hraban/opus) to audio close to the input.
func TestPacketsDecode(t *testing.T) {
	e := phoneEncoder(t)
	d, err := opus.NewDecoder(rate, 1)
	if err != nil {
		t.Fatal(err)
	}
	pcm := speech(100*frame, 11)
	out := make([]int16, frame)
	var sig, diff float64
	const delay = 13 * rate / 2000 // 6.5 ms: SILK's look-ahead at 16 kHz
	got := make([]int16, 0, len(pcm))
	for k := range 100 {
		n, err := d.Decode(encode(t, e, pcm[k*frame:(k+1)*frame]), out)
		if err != nil || n != frame {
			t.Fatalf("frame %d: decoded %d samples, %v", k, n, err)
		}
		got = append(got, out...)
	}
	best := math.Inf(1)
	for lag := 0; lag <= 2*delay; lag++ {
		sig, diff = 0, 0
		for i := 20 * frame; i+lag < len(got); i++ {
			sig += float64(pcm[i]) * float64(pcm[i])
			d := float64(got[i+lag]) - float64(pcm[i])
			diff += d * d
		}
		best = min(best, diff/sig)
	}
	snr := -10 * math.Log10(best)
	t.Logf("decoded speech-like signal: SNR %.1f dB at the best lag", snr)
	if snr < 3 {
		t.Errorf("SNR %.1f dB, want >= 3: the packets do not carry the input", snr)
	}
}

func benchPCM() []int16 { return speech(50*frame, 5) }

// BenchmarkEncode is one 20 ms frame at the phone legs' settings.
func BenchmarkEncode(b *testing.B) {
	e := phoneEncoder(b)
	pcm := benchPCM()
	var buf [1275]byte
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % 50
		if _, err := e.Encode(buf[:], pcm[k*frame:(k+1)*frame]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeHraban is the same through gopkg.in/hraban/opus.v2.
func BenchmarkEncodeHraban(b *testing.B) {
	e, err := opus.NewEncoder(rate, 1, opus.AppVoIP)
	if err != nil {
		b.Fatal(err)
	}
	for _, err := range []error{
		e.SetBitrate(28000), e.SetInBandFEC(true), e.SetPacketLossPerc(5),
		e.SetComplexity(5), e.SetMaxBandwidth(opus.Wideband),
	} {
		if err != nil {
			b.Fatal(err)
		}
	}
	pcm := benchPCM()
	var buf [1275]byte
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % 50
		if _, err := e.Encode(pcm[k*frame:(k+1)*frame], buf[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCopyStateFrom is the cost of one state copy (what a talk spell's
// start adds, and what the room's snapshot costs per tick).
func BenchmarkCopyStateFrom(b *testing.B) {
	src, dst := phoneEncoder(b), phoneEncoder(b)
	b.SetBytes(int64(src.size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := dst.CopyStateFrom(src); err != nil {
			b.Fatal(err)
		}
	}
}
