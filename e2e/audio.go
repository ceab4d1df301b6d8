package e2e

import "math"

// blockSamples is the analysis block length in samples. At 8 kHz a block is
// 250 ms and the Hann main lobe is ±8 Hz wide: narrow enough to tell 440, 660
// and 880 Hz apart, wide enough that a 2 Hz scan step loses almost nothing.
const blockSamples = 2000

// scanStepHz is the frequency step of DominantFrequency's fine scan. With a Hann
// window of blockSamples the main lobe is much wider than one step, so a tone
// between two steps loses almost nothing.
const scanStepHz = 1.0

// coarseStepHz is the step of DominantFrequency's first, coarse scan; a tone
// between two steps loses under 3 dB, so the coarse peak is the right lobe.
const coarseStepHz = 6.0

// maxScanHz bounds DominantFrequency's scan: telephone audio ends at 3.4 kHz
// and the test tones are far below.
const maxScanHz = 4000.0

// DecodeULaw appends the linear value (-1..1) of each G.711 µ-law byte in b
// (ITU-T G.711, PCMU) to dst and returns it.
func DecodeULaw(dst []float64, b []byte) []float64 {
	for _, c := range b {
		u := ^c
		sign := u & 0x80
		exp := (u >> 4) & 0x07
		mant := int(u & 0x0f)
		v := ((mant << 3) + 0x84) << exp
		v -= 0x84
		if sign != 0 {
			v = -v
		}
		dst = append(dst, float64(v)/32768)
	}
	return dst
}

// DecodeALaw appends the linear value (-1..1) of each G.711 A-law byte in b
// (ITU-T G.711, PCMA) to dst and returns it.
func DecodeALaw(dst []float64, b []byte) []float64 {
	for _, c := range b {
		a := c ^ 0x55
		exp := int((a >> 4) & 0x07)
		mant := int(a & 0x0f)
		v := (mant << 4) + 8
		if exp > 0 {
			v = (v + 0x100) << (exp - 1)
		}
		if a&0x80 == 0 {
			v = -v
		}
		dst = append(dst, float64(v)/32768)
	}
	return dst
}

// RMS returns the root mean square of samples (0 for none). A full-scale sine
// has an RMS of about 0.707.
func RMS(samples []float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, s := range samples {
		sum += s * s
	}
	return math.Sqrt(sum / float64(len(samples)))
}

// TonePower returns the mean power of a sine at freq Hz in samples taken at rate
// Hz: A²/2 for a sine of amplitude A. It runs a Hann-windowed Goertzel filter
// over consecutive blocks of 2000 samples and averages them; a shorter input
// is analysed as one block.
func TonePower(samples []float64, rate, freq float64) float64 {
	return tonePower(samples, hann(min(blockSamples, len(samples))), rate, freq)
}

// tonePower is TonePower with the window (of the block length) given.
func tonePower(samples, win []float64, rate, freq float64) float64 {
	n := len(win)
	if n == 0 {
		return 0
	}
	var sum float64
	blocks := 0
	for off := 0; off+n <= len(samples); off += n {
		sum += goertzelPower(samples[off:off+n], win, rate, freq)
		blocks++
	}
	return sum / float64(blocks)
}

// ToneShare returns the fraction (0..1) of the power of samples that lies in a
// sine at freq Hz (±4 Hz, the best of that range). A pure tone gives about 1,
// two equal tones about 0.5 each, silence 0.
func ToneShare(samples []float64, rate, freq float64) float64 {
	total := RMS(samples)
	total *= total
	if total == 0 {
		return 0
	}
	win := hann(min(blockSamples, len(samples)))
	best := 0.0
	for f := freq - 4; f <= freq+4; f += scanStepHz {
		best = max(best, tonePower(samples, win, rate, f))
	}
	return min(best/total, 1)
}

// DominantFrequency returns the frequency (Hz, to 1 Hz, between 100 Hz and
// 4 kHz or 90 % of the Nyquist frequency) with the most power in samples taken at
// rate Hz, and the share (0..1) of the total power it holds. Silence yields 0, 0.
func DominantFrequency(samples []float64, rate float64) (freq, share float64) {
	total := RMS(samples)
	total *= total
	if total == 0 {
		return 0, 0
	}
	win := hann(min(blockSamples, len(samples)))
	freq, _ = scanPeak(samples, win, rate, 100, min(0.45*rate, maxScanHz), coarseStepHz)
	freq, bestP := scanPeak(samples, win, rate, freq-coarseStepHz, freq+coarseStepHz, scanStepHz)
	return freq, min(bestP/total, 1)
}

// scanPeak returns the frequency from lo to hi (Hz, in steps of step) with the
// most power in samples, and that power.
func scanPeak(samples, win []float64, rate, lo, hi, step float64) (freq, power float64) {
	power = -1
	for f := max(lo, 1); f <= hi; f += step {
		if p := tonePower(samples, win, rate, f); p > power {
			freq, power = f, p
		}
	}
	return freq, power
}

// goertzelPower returns A²/2 for the sine at freq in the windowed block x.
func goertzelPower(x, win []float64, rate, freq float64) float64 {
	w := 2 * math.Pi * freq / rate
	coeff := 2 * math.Cos(w)
	var s1, s2, gain float64
	for i, v := range x {
		s0 := v*win[i] + coeff*s1 - s2
		s2, s1 = s1, s0
		gain += win[i]
	}
	re := s1 - s2*math.Cos(w)
	im := s2 * math.Sin(w)
	amp := 2 * math.Sqrt(re*re+im*im) / gain
	return amp * amp / 2
}

// hann returns a Hann window of n points.
func hann(n int) []float64 {
	w := make([]float64, n)
	if n <= 1 {
		if n == 1 {
			w[0] = 1
		}
		return w
	}
	for i := range w {
		w[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
	}
	return w
}
