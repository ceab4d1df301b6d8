package loadtest

import (
	"testing"
	"time"
)

func TestRxStats(t *testing.T) {
	tests := []struct {
		name      string
		seqs      []uint16
		jitterMs  int // every other packet this late
		wantExp   uint64
		wantRecv  uint64
		minJitter time.Duration
		maxJitter time.Duration
	}{
		{"clean", []uint16{1, 2, 3, 4, 5}, 0, 5, 5, 0, 0},
		{"one lost", []uint16{1, 2, 4, 5}, 0, 5, 4, 0, 0},
		{"wraps", []uint16{65534, 65535, 0, 1}, 0, 4, 4, 0, 0},
		{"jittery", []uint16{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, 10, 20, 20,
			3 * time.Millisecond, 10 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r rxStats
			base := time.Unix(1000, 0)
			for _, s := range tc.seqs {
				k := int(s - tc.seqs[0])
				at := base.Add(time.Duration(k) * frameDur)
				if k%2 == 1 {
					at = at.Add(time.Duration(tc.jitterMs) * time.Millisecond)
				}
				r.add(s, uint32(k*frameSamples), at)
			}
			if r.expected() != tc.wantExp || r.received != tc.wantRecv {
				t.Errorf("expected/received: got %d/%d, want %d/%d", r.expected(), r.received, tc.wantExp, tc.wantRecv)
			}
			if j := r.jitterDur(); j < tc.minJitter || j > tc.maxJitter {
				t.Errorf("jitter: got %v, want %v..%v", j, tc.minJitter, tc.maxJitter)
			}
		})
	}
}
