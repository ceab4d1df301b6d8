package loadtest

import (
	"math"
	"time"
)

const (
	rate         = 8000
	frameSamples = rate / 50 // 20 ms
	frameDur     = 20 * time.Millisecond

	burstFreq   = 1000.0  // Hz, the phone mouth's marker tone
	browserFreq = 2000.0  // Hz, the browser mouth's marker tone
	burstAmp    = 12000.0 // about -9 dBov: a clear talker
	burstLen    = 10      // frames (200 ms) of tone
	burstPeriod = 50      // frames (1 s) between burst starts
	noiseAmp    = 30      // about -60 dBov: line noise
	babbleAmp   = 150     // about -50 dBov: below the talker threshold
	onsetRatio  = 0.25    // share of the burst's block power that marks onset
	quietBlocks = 300 / 5 // 300 ms of quiet (5 ms blocks) before an onset counts
)

// source produces a caller's voice, one 20 ms frame at a time.
type source struct {
	kind  string // "noise", "speech" or "tone" (a steady 440 Hz, loud)
	mouth bool   // sends marked bursts
	n     int    // frames produced
	left  int    // frames of the current burst still to send
	rnd   uint32 // xorshift state for noise
	phase float64
}

// frame fills pcm with the next frame. While bursts are on a mouth sends
// silence between its bursts and starts one when start is set; it reports
// whether the frame starts a burst.
func (s *source) frame(pcm []int16, bursts, start bool) (burstStart bool) {
	defer func() { s.n++ }()
	if s.mouth && bursts {
		if start {
			s.left = burstLen
		}
		if s.left > 0 {
			toneFrame(pcm, burstFreq, burstAmp, rate, burstLen-s.left)
			s.left--
			return start
		}
		clear(pcm)
		return false
	}
	s.left = 0
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

// toneFrame fills pcm with frame k (from 0) of a tone at freq Hz, sampled
// at sr Hz, of amplitude amp (burstAmp for a marker burst).
func toneFrame(pcm []int16, freq, amp float64, sr, k int) {
	for i := range pcm {
		pcm[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(k*len(pcm)+i)/float64(sr)))
	}
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

// onsetDetector finds the start of marker bursts of one frequency in
// received audio: a 5 ms block whose power at that frequency (Goertzel)
// exceeds a share of a full-level burst's, after at least 300 ms without
// one. The marker frequencies (1 and 2 kHz) make whole cycles in a 5 ms
// block at 8, 16 and 48 kHz, so a burst of one is not seen by the other's
// detector.
type onsetDetector struct {
	block int     // samples per 5 ms block
	w     float64 // Goertzel coefficient
	thr   float64 // block power that counts as the tone
	quiet int     // blocks in a row without the tone
	armed bool
}

// newOnsetDetector returns a detector of freq Hz in audio sampled at sr Hz
// that takes the first loud block as an onset: bursts start when measuring
// starts, after silence.
func newOnsetDetector(freq float64, sr int) onsetDetector {
	block := sr / 200
	a := burstAmp * float64(block) / 2 // a full-level burst's Goertzel amplitude
	return onsetDetector{block: block, w: 2 * math.Cos(2*math.Pi*freq/float64(sr)),
		// The mix may be softer (limiter, codec), so onsetRatio of the amplitude counts.
		thr: a * a * onsetRatio * onsetRatio, armed: true}
}

// blockPower is the Goertzel power of pcm at the detector's frequency and
// the block's energy (sum of squares).
func (d *onsetDetector) blockPower(pcm []int16) (power, energy float64) {
	var s1, s2 float64
	for _, v := range pcm {
		x := float64(v)
		energy += x * x
		s0 := x + d.w*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - d.w*s1*s2, energy
}

// isTone reports whether a block is the marker: loud enough at the
// frequency, and the tone carries at least minPurity of the block's energy
// (a pure tone carries all of it: power = energy * block/2), so speech
// such as a voice prompt is not taken for a burst.
func (d *onsetDetector) isTone(pcm []int16) bool {
	p, e := d.blockPower(pcm)
	return p >= d.thr && p >= minPurity*e*float64(len(pcm))/2
}

// minPurity is the share of a block's energy the marker tone must carry:
// both markers at once (0.5 each) or a burst over a voice still count.
const minPurity = 0.3

// feed scans one received frame and returns the sample offset of an onset in
// it, or -1.
func (d *onsetDetector) feed(pcm []int16) int {
	for off := 0; off+d.block <= len(pcm); off += d.block {
		if !d.isTone(pcm[off : off+d.block]) {
			d.quiet++
			if d.quiet >= quietBlocks {
				d.armed = true
			}
			continue
		}
		d.quiet = 0
		if d.armed {
			d.armed = false
			return off + firstLoud(pcm[off:off+d.block])
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
