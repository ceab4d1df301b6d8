package mixer

// pcmPLC conceals lost frames of a phone leg in the manner of ITU-T G.711
// Appendix I: it finds the pitch period of the recent history by
// autocorrelation, repeats the last period (so voiced speech keeps its pitch
// instead of buzzing or clicking), fades the repetition out by 20 % per 10 ms
// after the first frame and falls silent after 60 ms. The first good frame
// after a gap is cross-faded with the continuation so the seam does not click.
// It works at the rate of the frames it is given (8 kHz G.711, 16 kHz G.722
// or Opus; all its lengths scale with the frame) and starts afresh when the
// frame length changes (a codec change mid-call). Not safe for concurrent use.
type pcmPLC struct {
	hist   [3 * FrameSamples]int16 // the last samples played, oldest first (60 ms at 16 kHz)
	n      int                     // samples per frame; 0 before the first frame
	period int                     // pitch period in samples while concealing; 0 otherwise
	pos    int                     // position inside the repeated period
	lost   int                     // frames concealed in a row
}

// The lengths below are for 8 kHz frames of 160 samples; scale(x) gives them
// at the PLC's rate.
const (
	plcMinPeriod = 40  // 200 Hz at 8 kHz
	plcMaxPeriod = 120 // 66 Hz
	plcOverlap   = 32  // samples (4 ms) cross-faded into the next good frame
)

// scale converts a length in 8 kHz samples to the PLC's rate.
func (p *pcmPLC) scale(x int) int { return x * p.n / NarrowSamples }

// rate adapts the PLC to frames of n samples, forgetting a history of
// another rate.
func (p *pcmPLC) rate(n int) {
	if n != p.n && n > 0 && n <= FrameSamples {
		*p = pcmPLC{n: n}
	}
}

// good records a correctly received frame in the history, cross-fading its
// start with the concealment when it ends a gap. pcm is modified in place. The
// history stays frozen while concealing, so the repetition continues seamlessly.
func (p *pcmPLC) good(pcm []int16) {
	p.rate(len(pcm))
	if p.lost > 0 {
		n := min(p.scale(plcOverlap), len(pcm))
		gain := p.gain(p.n * p.lost)
		for i := 0; i < n; i++ {
			synth := int32(p.sample()) * gain / 256
			w := int32(i + 1)
			pcm[i] = int16((synth*(int32(n)-w+1) + int32(pcm[i])*w) / int32(n+1))
		}
		p.lost, p.period = 0, 0
	}
	p.remember(pcm)
}

// conceal writes one frame of concealment into dst.
func (p *pcmPLC) conceal(dst []int16) {
	if p.n == 0 {
		p.rate(len(dst))
	}
	dst = dst[:p.n]
	if p.lost == 0 {
		p.period = p.pitch()
		p.pos = 0
	}
	start := p.n * p.lost
	for i := range dst {
		dst[i] = int16(int32(p.sample()) * p.gain(start+i) / 256)
	}
	p.lost++
}

// sample returns the next sample of the repeated last period and advances.
func (p *pcmPLC) sample() int16 {
	v := p.hist[len(p.hist)-p.period+p.pos]
	p.pos = (p.pos + 1) % p.period
	return v
}

// gain is the fade (in 1/256) for the n-th concealed sample: full for the first
// 10 ms, then a linear ramp (20 % per 10 ms) to silence at 60 ms.
func (p *pcmPLC) gain(n int) int32 {
	full, silent := p.n/2, 3*p.n // 10 ms, 60 ms
	if n <= full {
		return 256
	}
	return max(0, 256-int32(n-full)*256/int32(silent-full))
}

// remember appends pcm to the history (its end is always the end of hist;
// only the last three frames at the PLC's rate are kept current).
func (p *pcmPLC) remember(pcm []int16) {
	h := p.hist[len(p.hist)-3*p.n:]
	if len(pcm) >= len(h) {
		copy(h, pcm[len(pcm)-len(h):])
		return
	}
	copy(h, h[len(pcm):])
	copy(h[len(h)-len(pcm):], pcm)
}

// pitch estimates the period of the history's last samples by normalised
// autocorrelation over 66-200 Hz; it returns plcMaxPeriod for unvoiced input.
func (p *pcmPLC) pitch() int {
	minP, maxP, end := p.scale(plcMinPeriod), p.scale(plcMaxPeriod), len(p.hist)
	best, bestLag := int64(0), maxP
	x := p.hist[end-maxP:]
	for lag := minP; lag <= maxP; lag++ {
		y := p.hist[end-maxP-lag : end-lag]
		var c, e int64
		for i := range x {
			c += int64(x[i]) * int64(y[i])
			e += int64(y[i]) * int64(y[i])
		}
		if c <= 0 || e == 0 {
			continue
		}
		// Compare c^2/e without dividing large numbers: scale down first.
		score := (c >> 8) * (c >> 8) / max(e>>16, 1)
		if score > best {
			best, bestLag = score, lag
		}
	}
	return bestLag
}
