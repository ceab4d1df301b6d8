package loadtest

import (
	"math"
	"time"
)

const (
	rate         = 8000
	frameSamples = rate / 50 // 20 ms
	frameDur     = 20 * time.Millisecond

	burstFreq   = 1000.0                 // Hz, the marker tone
	burstAmp    = 12000.0                // about -9 dBov: a clear talker
	burstLen    = 10                     // frames (200 ms) of tone
	burstPeriod = 50                     // frames (1 s) between burst starts
	blockLen    = 40                     // samples (5 ms) per detector block
	noiseAmp    = 30                     // about -60 dBov: line noise
	babbleAmp   = 150                    // about -50 dBov: below the talker threshold
	onsetRatio  = 0.25                   // share of the burst's block power that marks onset
	quietBlocks = 300 * rate / 1000 / 40 // 300 ms of quiet before an onset counts
)

// source produces a caller's voice, one 20 ms frame at a time.
type source struct {
	kind  string // "noise", "speech" or "tone" (a steady 440 Hz, loud)
	mouth bool   // sends marked bursts
	n     int    // frames produced
	bn    int    // frames since bursts were switched on
	rnd   uint32 // xorshift state for noise
	phase float64
}

// frame fills pcm with the next frame and reports whether it starts a burst.
func (s *source) frame(pcm []int16, bursts bool) (burstStart bool) {
	defer func() { s.n++ }()
	if !bursts {
		s.bn = 0
	}
	if s.mouth && bursts {
		k := s.bn % burstPeriod
		s.bn++
		if k < burstLen {
			for i := range pcm {
				pcm[i] = int16(burstAmp * math.Sin(2*math.Pi*burstFreq*float64(k*frameSamples+i)/rate))
			}
			return k == 0
		}
		clear(pcm)
		return false
	}
	switch s.kind {
	case "tone":
		for i := range pcm {
			pcm[i] = int16(4000 * math.Sin(s.phase))
			s.phase += 2 * math.Pi * 440 / rate
		}
	case "speech":
		// Babble: noise shaped by a 4 Hz syllable envelope, quietly.
		env := 0.5 + 0.5*math.Sin(2*math.Pi*4*float64(s.n)*frameDur.Seconds())
		for i := range pcm {
			pcm[i] = int16(float64(s.noise()) * babbleAmp / noiseAmp * env)
		}
	default:
		for i := range pcm {
			pcm[i] = s.noise()
		}
	}
	return false
}

// noise returns uniform noise of amplitude noiseAmp.
func (s *source) noise() int16 {
	if s.rnd == 0 {
		s.rnd = 2463534242
	}
	s.rnd ^= s.rnd << 13
	s.rnd ^= s.rnd >> 17
	s.rnd ^= s.rnd << 5
	return int16(int32(s.rnd%(2*noiseAmp+1)) - noiseAmp)
}

// onsetDetector finds the start of marker bursts in received audio: a 5 ms
// block whose 1 kHz power (Goertzel) exceeds a share of a full-level burst's,
// after at least 300 ms without one.
type onsetDetector struct {
	quiet int // blocks in a row without the tone
	armed bool
}

// newOnsetDetector returns a detector that takes the first loud block as an
// onset: bursts start when measuring starts, after silence.
func newOnsetDetector() onsetDetector { return onsetDetector{armed: true} }

// blockPower is the Goertzel power of pcm at burstFreq.
func blockPower(pcm []int16) float64 {
	w := 2 * math.Cos(2*math.Pi*burstFreq/rate)
	var s1, s2 float64
	for _, v := range pcm {
		s0 := float64(v) + w*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - w*s1*s2
}

// fullBlockPower is blockPower of one block of a burst at burstAmp; the mix
// may be softer (limiter, codec), so onsetRatio of its amplitude counts.
func fullBlockPower() float64 {
	a := burstAmp * blockLen / 2
	return a * a
}

// feed scans one received frame and returns the sample offset of an onset in
// it, or -1.
func (d *onsetDetector) feed(pcm []int16) int {
	thr := fullBlockPower() * onsetRatio * onsetRatio
	for off := 0; off+blockLen <= len(pcm); off += blockLen {
		if blockPower(pcm[off:off+blockLen]) < thr {
			d.quiet++
			if d.quiet >= quietBlocks {
				d.armed = true
			}
			continue
		}
		d.quiet = 0
		if d.armed {
			d.armed = false
			return off + firstLoud(pcm[off:off+blockLen])
		}
	}
	return -1
}

// firstLoud refines the onset inside a block: the first sample above a
// quarter of the burst amplitude.
func firstLoud(pcm []int16) int {
	for i, v := range pcm {
		if math.Abs(float64(v)) > burstAmp*onsetRatio {
			return i
		}
	}
	return 0
}
