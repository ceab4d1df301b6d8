package mixer

// pcmPLC conceals lost 8 kHz frames of a phone leg in the manner of ITU-T
// G.711 Appendix I: it finds the pitch period of the recent history by
// autocorrelation, repeats the last period (so voiced speech keeps its pitch
// instead of buzzing or clicking), fades the repetition out by 20 % per 10 ms
// after the first frame and falls silent after 60 ms. The first good frame
// after a gap is cross-faded with the continuation so the seam does not click.
// Not safe for concurrent use.
type pcmPLC struct {
	hist   [plcHist]int16 // the last plcHist samples played, oldest first
	period int            // pitch period in samples while concealing; 0 otherwise
	pos    int            // position inside the repeated period
	lost   int            // frames concealed in a row
}

const (
	plcHist      = 3 * FrameSamples // 60 ms of history
	plcMinPeriod = 40               // 200 Hz at 8 kHz
	plcMaxPeriod = 120              // 66 Hz
	plcOverlap   = 32               // samples (4 ms) cross-faded into the next good frame
)

// good records a correctly received frame in the history, cross-fading its
// start with the concealment when it ends a gap. pcm is modified in place. The
// history stays frozen while concealing, so the repetition continues seamlessly.
func (p *pcmPLC) good(pcm []int16) {
	if p.lost > 0 {
		n := min(plcOverlap, len(pcm))
		gain := p.gain(FrameSamples * p.lost)
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
	if p.lost == 0 {
		p.period = p.pitch()
		p.pos = 0
	}
	start := FrameSamples * p.lost
	for i := range dst {
		dst[i] = int16(int32(p.sample()) * p.gain(start+i) / 256)
	}
	p.lost++
}

// sample returns the next sample of the repeated last period and advances.
func (p *pcmPLC) sample() int16 {
	v := p.hist[plcHist-p.period+p.pos]
	p.pos = (p.pos + 1) % p.period
	return v
}

// gain is the fade (in 1/256) for the n-th concealed sample: full for the first
// 10 ms, then a linear ramp (20 % per 10 ms) to silence at 60 ms.
func (p *pcmPLC) gain(n int) int32 {
	const full, silent = SampleRate / 100, 6 * SampleRate / 100
	if n <= full {
		return 256
	}
	return max(0, 256-int32(n-full)*256/(silent-full))
}

// remember appends pcm to the history.
func (p *pcmPLC) remember(pcm []int16) {
	if len(pcm) >= plcHist {
		copy(p.hist[:], pcm[len(pcm)-plcHist:])
		return
	}
	copy(p.hist[:], p.hist[len(pcm):])
	copy(p.hist[plcHist-len(pcm):], pcm)
}

// pitch estimates the period of the history's last samples by normalised
// autocorrelation over 66-200 Hz; it returns plcMaxPeriod for unvoiced input.
func (p *pcmPLC) pitch() int {
	best, bestLag := int64(0), plcMaxPeriod
	x := p.hist[plcHist-plcMaxPeriod:]
	for lag := plcMinPeriod; lag <= plcMaxPeriod; lag++ {
		y := p.hist[plcHist-plcMaxPeriod-lag : plcHist-lag]
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
