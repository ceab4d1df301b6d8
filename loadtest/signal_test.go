package loadtest

import "testing"

// TestOnsetDetector: bursts from the mouth are found at the right sample in
// the frames an ear receives, shifted by any delay, and noise is ignored.
func TestOnsetDetector(t *testing.T) {
	for _, shift := range []int{0, 37, 160, 1234} {
		mouth := &source{kind: "noise", mouth: true}
		var stream []int16
		var starts []int
		for f := 0; f < 3*burstPeriod; f++ {
			pcm := make([]int16, frameSamples)
			if mouth.frame(pcm, true) {
				starts = append(starts, f*frameSamples+shift)
			}
			stream = append(stream, pcm...)
		}
		// What the ear receives: line noise, then the stream delayed by shift.
		noise := &source{kind: "noise"}
		head := make([]int16, shift+quietBlocks*blockLen)
		noise.frame(head[:min(len(head), frameSamples)], false)
		recv := append(head, stream...)
		var got []int
		var d onsetDetector
		for off := 0; off+frameSamples <= len(recv); off += frameSamples {
			if k := d.feed(recv[off : off+frameSamples]); k >= 0 {
				got = append(got, off+k-len(head)+shift)
			}
		}
		if len(got) != len(starts) {
			t.Fatalf("shift %d: got %d onsets %v, want %d %v", shift, len(got), got, len(starts), starts)
		}
		for i := range got {
			if d := got[i] - starts[i]; d < 0 || d > 8 {
				t.Errorf("shift %d: onset %d at sample %d, want %d (within 1 ms)", shift, i, got[i], starts[i])
			}
		}
	}
}
