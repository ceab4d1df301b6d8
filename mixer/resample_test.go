package mixer

import (
	"math"
	"testing"
)

// toneAmplitude is the amplitude of the freq Hz component of pcm sampled at
// rate (Goertzel over the whole signal).
func toneAmplitude(pcm []int16, freq float64, rate int) float64 {
	w := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for _, v := range pcm {
		s0 := float64(v) + w*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - w*s1*s2
	return 2 * math.Sqrt(max(p, 0)) / float64(len(pcm))
}

func db(x float64) float64 { return 20 * math.Log10(max(x, 1e-9)) }

// resampleFrames runs pcm through process in 20 ms frames of in samples each,
// as a room does, and returns the concatenated output without the first
// 100 ms (the filter's start-up).
func resampleFrames(pcm []int16, in, out int, process func(dst, src []int16) []int16) []int16 {
	var all []int16
	dst := make([]int16, out)
	for i := 0; i+in <= len(pcm); i += in {
		all = append(all, process(dst, pcm[i:i+in])...)
	}
	return all[5*out:]
}

// TestUpsamplerStopBand: an 8 kHz tone keeps its level at 16 kHz, and its
// image above 4 kHz (what a bad interpolator lets through as a whistle) is
// at least 60 dB down.
func TestUpsamplerStopBand(t *testing.T) {
	for _, f := range []float64{300, 1000, 3000, 3400} {
		var u Upsampler
		in := tone(f, NarrowRate, NarrowRate, 10000, 0)
		out := resampleFrames(in, NarrowSamples, FrameSamples, u.Process)
		level := db(toneAmplitude(out, f, SampleRate) / 10000)
		image := db(toneAmplitude(out, 8000-f, SampleRate) / 10000)
		t.Logf("%4.0f Hz: pass %+.2f dB, image at %4.0f Hz %.1f dB", f, level, 8000-f, image)
		if math.Abs(level) > 0.5 && f <= 3000 {
			t.Errorf("%v Hz: level %+.2f dB after upsampling, want within 0.5 dB", f, level)
		}
		if f <= 3400 && image > -60 {
			t.Errorf("%v Hz: image at %v Hz only %.1f dB down, want <= -60 dB", f, 8000-f, image)
		}
	}
}

// TestDownsamplerStopBand: a 16 kHz tone below 3.4 kHz keeps its level at
// 8 kHz; one above 4.6 kHz (which would alias into the narrowband) is at
// least 60 dB down.
func TestDownsamplerStopBand(t *testing.T) {
	for _, f := range []float64{300, 1000, 3000, 4600, 5000, 6000, 7000} {
		var d Downsampler
		in := tone(f, SampleRate, SampleRate, 10000, 0)
		out := resampleFrames(in, FrameSamples, NarrowSamples, d.Process)
		alias := f
		if f > NarrowRate/2 {
			alias = NarrowRate - f
		}
		level := db(toneAmplitude(out, alias, NarrowRate) / 10000)
		t.Logf("%4.0f Hz -> %4.0f Hz: %+.1f dB", f, alias, level)
		switch {
		case f <= 3000 && math.Abs(level) > 0.5:
			t.Errorf("%v Hz: level %+.2f dB after downsampling, want within 0.5 dB", f, level)
		case f >= 4600 && level > -60:
			t.Errorf("%v Hz aliases to %v Hz at %.1f dB, want <= -60 dB", f, alias, level)
		}
	}
}

// TestResampleRoundTrip: 8 kHz speech-band audio up to 16 kHz and back
// comes out as it went in, delayed by the two filters (4 ms), without seams
// between frames.
func TestResampleRoundTrip(t *testing.T) {
	var u Upsampler
	var d Downsampler
	in := make([]int16, NarrowRate)
	for i, f := range []float64{440, 1234, 2900} {
		for j, v := range tone(f, NarrowRate, NarrowRate, 6000, i*7) {
			in[j] += v
		}
	}
	wide := make([]int16, FrameSamples)
	narrow := make([]int16, NarrowSamples)
	var out []int16
	for i := 0; i+NarrowSamples <= len(in); i += NarrowSamples {
		out = append(out, d.Process(narrow, u.Process(wide, in[i:i+NarrowSamples]))...)
	}
	const delay = 2 * halfDelay // 8 kHz samples
	var errE, sigE float64
	for i := 800; i < len(in)-delay; i++ {
		e := float64(out[i+delay]) - float64(in[i])
		errE += e * e
		sigE += float64(in[i]) * float64(in[i])
	}
	snr := 10 * math.Log10(sigE/max(errE, 1))
	t.Logf("round trip SNR %.1f dB", snr)
	if snr < 40 {
		t.Errorf("round trip SNR %.1f dB, want >= 40 dB (a seam, a wrong delay or a bad filter)", snr)
	}
}

// TestUpsampleAligned: Upsample of a whole prompt removes the filter delay,
// so the prompt starts when it did and has twice the samples.
func TestUpsampleAligned(t *testing.T) {
	in := tone(1000, NarrowRate, 800, 8000, 0)
	out := Upsample(in)
	if len(out) != 2*len(in) {
		t.Fatalf("len %d, want %d", len(out), 2*len(in))
	}
	for i := 100; i < len(in)-100; i++ {
		if d := int(out[2*i]) - int(in[i]); d < -2 || d > 2 {
			t.Fatalf("sample %d: %d at 16 kHz vs %d at 8 kHz: not aligned", i, out[2*i], in[i])
		}
	}
}

func TestResampleAllocs(t *testing.T) {
	var u Upsampler
	var d Downsampler
	in, wide, narrow := make([]int16, NarrowSamples), make([]int16, FrameSamples), make([]int16, NarrowSamples)
	u.Process(wide, in)
	d.Process(narrow, wide)
	if a := testing.AllocsPerRun(100, func() { d.Process(narrow, u.Process(wide, in)) }); a != 0 {
		t.Errorf("%v allocations per frame, want 0", a)
	}
}

func BenchmarkUpsampleFrame(b *testing.B) {
	var u Upsampler
	in, out := tone(1000, NarrowRate, NarrowSamples, 8000, 0), make([]int16, FrameSamples)
	for b.Loop() {
		u.Process(out, in)
	}
}

func BenchmarkDownsampleFrame(b *testing.B) {
	var d Downsampler
	in, out := tone(1000, SampleRate, FrameSamples, 8000, 0), make([]int16, NarrowSamples)
	for b.Loop() {
		d.Process(out, in)
	}
}
