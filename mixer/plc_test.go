package mixer

import (
	"math"
	"testing"
)

func rms(pcm []int16) float64 {
	return math.Sqrt(float64(level(pcm)))
}

func TestPCMPLC(t *testing.T) {
	var p pcmPLC
	const freq = 200.0 // a voiced pitch: 40 samples per period
	for i := 0; i < 3; i++ {
		f := tone(freq, NarrowRate, NarrowSamples, 8000, i*NarrowSamples)
		p.good(f)
	}
	var lost [5][NarrowSamples]int16
	for i := range lost {
		p.conceal(lost[i][:])
	}
	if got := dominant(lost[0][:], NarrowRate); math.Abs(got-freq) > 10 {
		t.Errorf("concealed pitch: got %v Hz, want %v", got, freq)
	}
	// The first concealed frame continues the waveform: no jump at the seam.
	want := tone(freq, NarrowRate, 1, 8000, 3*NarrowSamples)[0]
	if d := math.Abs(float64(lost[0][0] - want)); d > 1500 {
		t.Errorf("seam: first concealed sample %d, continuation %d", lost[0][0], want)
	}
	if got := rms(lost[0][:]); got < 5000 {
		t.Errorf("first concealed frame rms %v, want about 5657 (no fade yet)", got)
	}
	if a, b := rms(lost[1][:]), rms(lost[2][:]); b >= a {
		t.Errorf("fade: rms %v then %v, want falling", a, b)
	}
	if got := rms(lost[3][:]); got != 0 {
		t.Errorf("after 60 ms: rms %v, want silence", got)
	}
	// A good frame after the gap fades in from the concealment, then is exact.
	f := tone(freq, NarrowRate, NarrowSamples, 8000, 8*NarrowSamples)
	orig := append([]int16(nil), f...)
	p.good(f)
	if f[NarrowSamples-1] != orig[NarrowSamples-1] || f[plcOverlap] != orig[plcOverlap] {
		t.Error("good frame altered beyond the cross-fade")
	}
}
