package mixer

import "math"

// Resampling between narrowband (8 kHz, G.711 phone legs and prompts) and the
// wideband mix (16 kHz). Both directions use one half-band low-pass FIR
// (Kaiser-windowed sinc, 63 taps, about 70 dB stop band, pass band to
// ~3.4 kHz, stop band from ~4.6 kHz): every other tap of a half-band filter is
// zero, so an output sample costs halfTaps multiplications. The filters are
// causal and stateful: they add halfDelay input samples of delay (2 ms) and
// keep their history between frames, so consecutive frames join without a seam.
//
// A room resamples its mix once per output rate (the shared Frame), never once
// per listener; a narrowband input is upsampled only while it is a talker.

// halfTaps is the number of non-zero odd taps of the half-band filter; the
// filter spans 2*halfTaps-1 taps either side of its centre.
const halfTaps = 32

// halfDelay is the filters' delay in input samples at 8 kHz (2 ms).
const halfDelay = halfTaps / 2

// halfband holds the odd taps h[2j+1] for j = -halfTaps/2 .. halfTaps/2-1 in
// Q16 (the centre tap is exactly 1/2 and needs no table).
var halfband = designHalfband()

const halfbandShift = 16

// designHalfband computes the taps of the windowed-sinc half-band filter.
func designHalfband() [halfTaps]int64 {
	const beta = 6.8 // Kaiser window for about 70 dB
	var taps [halfTaps]int64
	span := float64(halfTaps) // the window reaches zero at +-(halfTaps) taps
	for i := range taps {
		k := float64(2*(i-halfTaps/2) + 1) // odd offsets -31 .. 31
		sinc := math.Sin(math.Pi*k/2) / (math.Pi * k / 2)
		r := k / span
		w := bessel0(beta*math.Sqrt(1-r*r)) / bessel0(beta)
		taps[i] = int64(math.Round(0.5 * sinc * w * (1 << halfbandShift)))
	}
	return taps
}

// bessel0 is the modified Bessel function of the first kind, order 0 (for
// the Kaiser window), by its power series.
func bessel0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / 2) / float64(k)
		sum += term * term
		if term*term < 1e-12*sum {
			break
		}
	}
	return sum
}

func clamp16(v int64) int16 {
	return int16(max(-32768, min(32767, v)))
}

// Upsampler turns 8 kHz PCM into 16 kHz PCM. The zero value is ready; it is
// not safe for concurrent use.
type Upsampler struct {
	hist  [halfTaps - 1]int16 // the last input samples of the previous call
	frame [halfTaps - 1 + NarrowSamples]int16
	buf   []int16 // history + input longer than a frame (prompts), reused
}

// Process upsamples src (8 kHz) into dst (16 kHz), which must hold
// 2*len(src) samples; it returns dst[:2*len(src)].
func (u *Upsampler) Process(dst, src []int16) []int16 {
	const h = halfTaps - 1
	n := len(src)
	x := u.frame[:]
	if h+n > len(x) {
		if cap(u.buf) < h+n {
			u.buf = make([]int16, h+n)
		}
		x = u.buf
	}
	x = x[:h+n]
	copy(x, u.hist[:])
	copy(x[h:], src)
	dst = dst[:2*n]
	for m := 0; m < n; m++ {
		// x[m+h] is the newest sample; the filter's centre sits halfDelay
		// samples back. Even outputs are the centre sample itself (the
		// centre tap, 1/2, times the interpolation gain of 2); odd outputs
		// are the interpolated points between two input samples.
		w := x[m : m+halfTaps]
		dst[2*m] = w[halfTaps-halfDelay-1]
		// The taps are symmetric: pair the samples that share one.
		var acc int64
		for j, c := range halfband[:halfTaps/2] {
			acc += c * (int64(w[halfTaps-1-j]) + int64(w[j]))
		}
		dst[2*m+1] = clamp16((2*acc + 1<<(halfbandShift-1)) >> halfbandShift)
	}
	copy(u.hist[:], x[n:])
	return dst
}

// Reset forgets the history, as if the input had been silent.
func (u *Upsampler) Reset() { clear(u.hist[:]) }

// Downsampler turns 16 kHz PCM into 8 kHz PCM. The zero value is ready; it is
// not safe for concurrent use.
type Downsampler struct {
	hist  [2*halfTaps - 1]int16
	frame [2*halfTaps - 1 + FrameSamples]int16
	buf   []int16 // for input longer than a frame
}

// Process downsamples src (16 kHz, an even number of samples) into dst
// (8 kHz), which must hold len(src)/2 samples; it returns dst[:len(src)/2].
func (d *Downsampler) Process(dst, src []int16) []int16 {
	const h = 2*halfTaps - 1
	n := len(src) / 2
	x := d.frame[:]
	if h+2*n > len(x) {
		if cap(d.buf) < h+2*n {
			d.buf = make([]int16, h+2*n)
		}
		x = d.buf
	}
	x = x[:h+2*n]
	copy(x, d.hist[:])
	copy(x[h:], src[:2*n])
	dst = dst[:n]
	for m := 0; m < n; m++ {
		// The window holds 2*halfTaps-1 samples; its centre (an even
		// input sample, so that 8 kHz audio taken up and back down comes
		// out on its own samples) is halfTaps-1 samples from either end,
		// and the odd taps sit at odd distances from it.
		w := x[2*m : 2*m+h]
		centre := halfTaps - 1
		acc := int64(w[centre]) << (halfbandShift - 1)
		for j, c := range halfband[:halfTaps/2] {
			k := 2*(j-halfTaps/2) + 1 // -31, -29, ... -1
			acc += c * (int64(w[centre-k]) + int64(w[centre+k]))
		}
		dst[m] = clamp16((acc + 1<<(halfbandShift-1)) >> halfbandShift)
	}
	copy(d.hist[:], x[2*n:])
	return dst
}

// Reset forgets the history, as if the input had been silent.
func (d *Downsampler) Reset() { clear(d.hist[:]) }

// Skip takes src (16 kHz) into the history without producing output, for a
// tick whose narrowband version nobody needed: the next Process then joins
// this tick's audio without a seam.
func (d *Downsampler) Skip(src []int16) {
	h := d.hist[:]
	if len(src) >= len(h) {
		copy(h, src[len(src)-len(h):])
		return
	}
	copy(h, h[len(src):])
	copy(h[len(h)-len(src):], src)
}

// Upsample returns 8 kHz PCM src as 16 kHz PCM, with the filter's delay
// removed so the result lines up with src (for whole prompts; it allocates).
func Upsample(src []int16) []int16 {
	var u Upsampler
	padded := make([]int16, len(src)+halfDelay)
	copy(padded, src)
	out := u.Process(make([]int16, 2*len(padded)), padded)
	return out[2*halfDelay:]
}
