package g722

import (
	"errors"
	"math"
	"testing"
)

// sine returns n samples of a hz tone at 16 kHz with peak amp.
func sine(hz, amp float64, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*hz*float64(i)/SampleRate))
	}
	return out
}

// goertzel is the power of x at hz (16 kHz), normalised so that a sine of
// peak a gives about a²/4·len(x)².
func goertzel(x []int16, hz float64) float64 {
	w := 2 * math.Cos(2*math.Pi*hz/SampleRate)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + w*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - w*s1*s2
}

func rms(x []int16) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(len(x)))
}

// roundTrip encodes pcm in 20 ms frames (320 samples, 160 bytes) and
// decodes the result.
func roundTrip(t testing.TB, pcm []int16) []int16 {
	t.Helper()
	enc, err := NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Free()
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Free()
	out := make([]int16, 0, len(pcm))
	var buf [160]byte
	var frame [320]int16
	for i := 0; i+320 <= len(pcm); i += 320 {
		n, err := enc.Encode(buf[:], pcm[i:i+320])
		if err != nil || n != 160 {
			t.Fatalf("frame %d: encoded %d bytes (%v), want 160", i/320, n, err)
		}
		k, err := dec.Decode(frame[:], buf[:n])
		if err != nil || k != 320 {
			t.Fatalf("frame %d: decoded %d samples (%v), want 320", i/320, k, err)
		}
		out = append(out, frame[:k]...)
	}
	return out
}

// snr is the signal-to-noise ratio (dB) of got against want, at the delay
// (0..64 samples; the QMF filters delay the signal) that suits got best.
func snr(want, got []int16) (db float64, delay int) {
	best := math.Inf(-1)
	for d := 0; d <= 64; d++ {
		var sig, noise float64
		for i := 1000; i+d < len(got) && i < len(want)-64; i++ {
			e := float64(got[i+d]) - float64(want[i])
			sig += float64(want[i]) * float64(want[i])
			noise += e * e
		}
		if v := 10 * math.Log10(sig/noise); v > best {
			best, delay = v, d
		}
	}
	return best, delay
}

func TestToneKeepsFrequencyAndLevel(t *testing.T) {
	for _, hz := range []float64{1000, 6000} {
		in := sine(hz, 10000, SampleRate) // 1 s
		out := roundTrip(t, in)
		tail := out[1600:] // past the ADPCM adaptation
		// The tone's frequency dominates: its bin beats its neighbours
		// 300 Hz away and the 8 kHz-sampled image (fs/2 - hz mirrored).
		p := goertzel(tail, hz)
		for _, other := range []float64{hz - 300, hz + 300, 8000 - hz} {
			if q := goertzel(tail, other); q*100 > p {
				t.Errorf("%.0f Hz: power at %.0f Hz is %.1f dB below the tone, want at least 20 dB", hz, other, 10*math.Log10(p/q))
			}
		}
		levelIn, levelOut := 20*math.Log10(rms(in[1600:])), 20*math.Log10(rms(tail))
		if d := math.Abs(levelOut - levelIn); d > 1 {
			t.Errorf("%.0f Hz: level %.2f dB after the round trip, %.2f before: %.2f dB apart, want at most 1", hz, levelOut, levelIn, d)
		}
		db, delay := snr(in, out)
		t.Logf("%.0f Hz: SNR %.1f dB at a delay of %d samples, level change %.2f dB", hz, db, delay, levelOut-levelIn)
		if db < 20 {
			t.Errorf("%.0f Hz: SNR %.1f dB, want at least 20", hz, db)
		}
	}
}

func TestBuffersAndFree(t *testing.T) {
	enc, err := NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Encode(make([]byte, 10), make([]int16, 320)); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("encode into a short buffer: got %v, want ErrShortBuffer", err)
	}
	if _, err := dec.Decode(make([]int16, 10), make([]byte, 160)); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("decode into a short buffer: got %v, want ErrShortBuffer", err)
	}
	if n, err := enc.Encode(nil, nil); n != 0 || err != nil {
		t.Errorf("encode nothing: got %d, %v, want 0, nil", n, err)
	}
	if n, err := dec.Decode(nil, nil); n != 0 || err != nil {
		t.Errorf("decode nothing: got %d, %v, want 0, nil", n, err)
	}
	enc.Free()
	enc.Free()
	dec.Free()
	dec.Free()
	if _, err := enc.Encode(make([]byte, 160), make([]int16, 320)); !errors.Is(err, ErrFreed) {
		t.Errorf("encode after Free: got %v, want ErrFreed", err)
	}
	if _, err := dec.Decode(make([]int16, 320), make([]byte, 160)); !errors.Is(err, ErrFreed) {
		t.Errorf("decode after Free: got %v, want ErrFreed", err)
	}
}

func BenchmarkEncode20ms(b *testing.B) {
	enc, err := NewEncoder()
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Free()
	pcm := sine(1000, 10000, 320)
	var buf [160]byte
	b.ReportAllocs()
	for b.Loop() {
		if _, err := enc.Encode(buf[:], pcm); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode20ms(b *testing.B) {
	enc, _ := NewEncoder()
	defer enc.Free()
	var pkt [160]byte
	_, _ = enc.Encode(pkt[:], sine(1000, 10000, 320))
	dec, err := NewDecoder()
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Free()
	var pcm [320]int16
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dec.Decode(pcm[:], pkt[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecode: G.722 has no invalid byte sequences; whatever a peer sends
// decodes to 2 samples per byte without a crash.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0xff, 0x00, 0x7f, 0x80})
	f.Add(make([]byte, 160))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec, err := NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Free()
		out := make([]int16, 2*len(data))
		n, err := dec.Decode(out, data)
		if err != nil || n != 2*len(data) {
			t.Fatalf("decoded %d samples (%v) from %d bytes, want %d", n, err, len(data), 2*len(data))
		}
	})
}

// TestCopyStateFrom: an encoder given another's state continues that
// encoder's stream byte for byte; a freed encoder refuses.
func TestCopyStateFrom(t *testing.T) {
	a, err := NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Free()
	b, err := NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	pcm := sine(700, 8000, 3200)
	ba, bb := make([]byte, 160), make([]byte, 160)
	for i := 0; i < 5; i++ {
		a.Encode(ba, pcm[i*320:(i+1)*320])
	}
	if err := b.CopyStateFrom(a); err != nil {
		t.Fatal(err)
	}
	for i := 5; i < 10; i++ {
		a.Encode(ba, pcm[i*320:(i+1)*320])
		b.Encode(bb, pcm[i*320:(i+1)*320])
		if string(ba) != string(bb) {
			t.Fatalf("frame %d: the copy's bytes differ from the original's", i)
		}
	}
	b.Free()
	if err := b.CopyStateFrom(a); err != ErrFreed {
		t.Errorf("copy into a freed encoder: %v, want ErrFreed", err)
	}
}
