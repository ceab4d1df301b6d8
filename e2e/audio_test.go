package e2e

import (
	"math"
	"math/rand/v2"
	"testing"
)

// sine returns seconds of a sum of sines (freq Hz, amplitude) sampled at rate Hz.
func sine(rate, seconds float64, tones ...[2]float64) []float64 {
	out := make([]float64, int(rate*seconds))
	for i := range out {
		t := float64(i) / rate
		for _, tone := range tones {
			out[i] += tone[1] * math.Sin(2*math.Pi*tone[0]*t)
		}
	}
	return out
}

func TestDominantFrequency(t *testing.T) {
	noise := rand.New(rand.NewPCG(1, 2))
	noisy := sine(8000, 1, [2]float64{660, 0.3})
	for i := range noisy {
		noisy[i] += 0.05 * (noise.Float64()*2 - 1)
	}
	tests := []struct {
		name      string
		samples   []float64
		rate      float64
		wantFreq  float64
		wantShare float64 // minimum
	}{
		{"440 at 8k", sine(8000, 1, [2]float64{440, 0.5}), 8000, 440, 0.9},
		{"660 at 8k", sine(8000, 1, [2]float64{660, 0.5}), 8000, 660, 0.9},
		{"661 at 8k, off the grid", sine(8000, 1, [2]float64{661, 0.5}), 8000, 661, 0.9},
		{"short block", sine(8000, 0.1, [2]float64{880, 0.5}), 8000, 880, 0.8},
		{"660 at 48k", sine(48000, 0.5, [2]float64{660, 0.5}), 48000, 660, 0.9},
		{"440 louder than 880", sine(8000, 1, [2]float64{440, 0.5}, [2]float64{880, 0.2}), 8000, 440, 0.8},
		{"660 in noise", noisy, 8000, 660, 0.8},
		{"silence", make([]float64, 8000), 8000, 0, 0},
		{"empty", nil, 8000, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			freq, share := DominantFrequency(tt.samples, tt.rate)
			if math.Abs(freq-tt.wantFreq) > 4 {
				t.Errorf("freq: got %.0f Hz, want %.0f Hz", freq, tt.wantFreq)
			}
			if share < tt.wantShare {
				t.Errorf("share: got %.2f, want >= %.2f", share, tt.wantShare)
			}
		})
	}
}

func TestToneShare(t *testing.T) {
	mix := sine(8000, 1, [2]float64{440, 0.3}, [2]float64{660, 0.3})
	tests := []struct {
		name     string
		samples  []float64
		freq     float64
		min, max float64
	}{
		{"pure tone", sine(8000, 1, [2]float64{440, 0.5}), 440, 0.95, 1},
		{"other tone", sine(8000, 1, [2]float64{440, 0.5}), 660, 0, 0.01},
		{"half of a mix", mix, 440, 0.45, 0.55},
		{"other half of a mix", mix, 660, 0.45, 0.55},
		{"absent from a mix", mix, 880, 0, 0.01},
		{"silence", make([]float64, 4000), 440, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ToneShare(tt.samples, 8000, tt.freq); got < tt.min || got > tt.max {
				t.Errorf("got %.3f, want %.2f..%.2f", got, tt.min, tt.max)
			}
		})
	}
}

func TestG711Decode(t *testing.T) {
	tests := []struct {
		name   string
		decode func([]float64, []byte) []float64
		in     byte
		want   float64 // in 16-bit units
	}{
		{"ulaw zero", DecodeULaw, 0xff, 0},
		{"ulaw negative zero", DecodeULaw, 0x7f, 0},
		{"ulaw max", DecodeULaw, 0x80, 32124},
		{"ulaw min", DecodeULaw, 0x00, -32124},
		{"alaw smallest", DecodeALaw, 0xd5, 8},
		{"alaw max", DecodeALaw, 0xaa, 32256},
		{"alaw min", DecodeALaw, 0x2a, -32256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.decode(nil, []byte{tt.in})
			if len(got) != 1 || got[0]*32768 != tt.want {
				t.Errorf("got %v, want [%v]", scale(got), tt.want)
			}
		})
	}
}

func scale(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * 32768
	}
	return out
}

func TestRMS(t *testing.T) {
	if got := RMS(sine(8000, 1, [2]float64{440, 1})); math.Abs(got-math.Sqrt2/2) > 0.001 {
		t.Errorf("got %.4f, want %.4f", got, math.Sqrt2/2)
	}
	if got := RMS(nil); got != 0 {
		t.Errorf("empty: got %v, want 0", got)
	}
}
