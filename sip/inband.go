package sip

import "math"

// In-band DTMF detection (ITU-T Q.23 frequencies, Q.24 reception limits) for
// trunks that negotiate no telephone-event and leave the tones in the audio.
//
// The detector runs the Goertzel algorithm for the eight DTMF frequencies
// over windows of inbandN samples (12.75 ms at 8 kHz; the bins are then
// about one row or column spacing wide, so a tone 1.5 % off its nominal
// frequency still falls in its bin while the neighbouring bin sits near a
// null), stepping by half a window. A window "has" a key when
//   - each of the two tones is at least inbandMinAmp loud (about -33 dBm0),
//   - the strongest row and column tone each beat the runner-up of their
//     group by 8 dB,
//   - the twist (high group minus low group level) lies within -8 dB
//     (reverse) and +4 dB (forward), the limits Q.24 lists for most
//     administrations, plus 1 dB for the error of a 12.75 ms measurement,
//   - the two tones carry most of the window's energy (speech and music
//     spread theirs), and
//   - both halves of the window hold the signal, so only windows the tone
//     fills count and the duration rules below hold.
//
// A key is reported after inbandOnWindows consecutive windows (tones of
// 40 ms and longer are accepted, 23 ms and shorter are not) and is reported
// once: the same key again needs a pause of inbandOffWindows windows without
// it (a 10 ms drop-out inside one tone does not split it).
const (
	inbandN          = 102
	inbandHop        = inbandN / 2
	inbandOnWindows  = 4
	inbandOffWindows = 5
	inbandMinAmp     = 400.0 // peak amplitude per tone, 16-bit scale
	inbandPurity     = 0.7   // share of the window energy in the two tones
	inbandGroupRatio = 6.3   // 8 dB between the strongest tone of a group and the next
	inbandTwistRev   = 0.126 // -9 dB (power): high group this much below the low group
	inbandTwistFwd   = 3.16  // +5 dB (power): high group this much above the low group
	inbandHalfRatio  = 0.6   // the weaker half of a window holds at least this share of the stronger
	inbandSampleRate = 8000.0
)

var (
	inbandRows = [4]float64{697, 770, 852, 941}
	inbandCols = [4]float64{1209, 1336, 1477, 1633}
	inbandKeys = [4][4]byte{
		{'1', '2', '3', 'A'},
		{'4', '5', '6', 'B'},
		{'7', '8', '9', 'C'},
		{'*', '0', '#', 'D'},
	}
)

// inbandDetector finds DTMF keys in 8 kHz linear PCM. Not safe for
// concurrent use; it allocates nothing after construction.
type inbandDetector struct {
	coef  [8]float64 // Goertzel 2cos(2πf/fs) for rows then columns
	win   [inbandN]float64
	n     int // samples in win
	cand  byte
	count int  // consecutive windows with cand
	cur   byte // key reported and not yet ended, 0 when none
	miss  int  // consecutive windows without cur
}

func newInbandDetector() *inbandDetector {
	d := &inbandDetector{}
	for i, f := range inbandRows {
		d.coef[i] = 2 * math.Cos(2*math.Pi*f/inbandSampleRate)
	}
	for i, f := range inbandCols {
		d.coef[4+i] = 2 * math.Cos(2*math.Pi*f/inbandSampleRate)
	}
	return d
}

// Feed analyses pcm and calls report once for each key that starts in it.
func (d *inbandDetector) Feed(pcm []int16, report func(byte)) {
	for _, s := range pcm {
		d.win[d.n] = float64(s)
		d.n++
		if d.n < inbandN {
			continue
		}
		if k := d.step(d.window()); k != 0 {
			report(k)
		}
		copy(d.win[:], d.win[inbandHop:])
		d.n = inbandN - inbandHop
	}
}

// Busy reports whether a key is sounding or may be starting, so that the
// caller can keep it out of the room's audio.
func (d *inbandDetector) Busy() bool { return d.cand != 0 || d.cur != 0 }

// step advances the duration state machine by one window result.
func (d *inbandDetector) step(k byte) byte {
	if d.cur != 0 {
		if k == d.cur {
			d.miss = 0
		} else if d.miss++; d.miss >= inbandOffWindows {
			d.cur = 0
		}
	}
	if k == 0 || k != d.cand {
		d.cand, d.count = k, 0
	}
	if k == 0 {
		return 0
	}
	d.count++
	if d.count >= inbandOnWindows && k != d.cur {
		d.cur, d.miss = k, 0
		return k
	}
	return 0
}

// window returns the key the current window holds, or 0.
func (d *inbandDetector) window() byte {
	var e1, e2 float64
	for i, x := range d.win {
		if i < inbandN/2 {
			e1 += x * x
		} else {
			e2 += x * x
		}
	}
	if min(e1, e2) < inbandHalfRatio*max(e1, e2) {
		return 0
	}
	var p [8]float64
	for i, c := range d.coef {
		var s1, s2 float64
		for _, x := range d.win {
			s1, s2 = x+c*s1-s2, s1
		}
		// |X|²·2/N is the energy a sine at exactly this frequency puts in the window.
		p[i] = (s1*s1 + s2*s2 - c*s1*s2) * 2 / inbandN
	}
	r, rOK := strongest(p[:4])
	c, cOK := strongest(p[4:])
	if !rOK || !cOK {
		return 0
	}
	pr, pc := p[r], p[4+c]
	minP := inbandMinAmp * inbandMinAmp / 2 * inbandN
	switch {
	case pr < minP || pc < minP:
		return 0
	case pc < inbandTwistRev*pr || pc > inbandTwistFwd*pr:
		return 0
	case pr+pc < inbandPurity*(e1+e2):
		return 0
	}
	return inbandKeys[r][c]
}

// strongest returns the index of the largest power and whether it beats
// every other one of its group by inbandGroupRatio.
func strongest(p []float64) (int, bool) {
	best := 0
	for i := range p {
		if p[i] > p[best] {
			best = i
		}
	}
	for i := range p {
		if i != best && p[i]*inbandGroupRatio > p[best] {
			return best, false
		}
	}
	return best, true
}
