package mixer

import (
	"testing"
	"time"
)

// arrival is one packet of a deterministic schedule: sequence number and
// arrival time in ms.
type arrival struct {
	seq uint16
	at  int
}

// play runs a schedule against a jitter buffer, ticking every 20 ms from t=0
// until tick ticks, and returns what each tick played: the sequence number,
// -1 for concealment, -2 for nothing.
func play(t *testing.T, sched []arrival, ticks int) ([]int, *counters) {
	t.Helper()
	c := &counters{}
	j := newJitterCore(c)
	base := time.Unix(1000, 0)
	var seqs [jbSlots]uint16
	var out []int
	k := 0
	for tick := 0; tick < ticks; tick++ {
		now := tick * 20
		for k < len(sched) && sched[k].at <= now {
			if idx, ok := j.insert(sched[k].seq, base.Add(time.Duration(sched[k].at)*time.Millisecond)); ok {
				seqs[idx] = sched[k].seq
			}
			k++
		}
		at := base.Add(time.Duration(now) * time.Millisecond)
		idx, res := j.pop(at)
		if res == popDrop {
			idx, res = j.pop(at)
		}
		switch res {
		case popFrame:
			out = append(out, int(seqs[idx]))
		case popLost, popStretch:
			out = append(out, -1)
		default:
			out = append(out, -2)
		}
	}
	return out, c
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestJitterSchedules(t *testing.T) {
	tests := []struct {
		name  string
		sched []arrival
		ticks int
		want  []int
		late  uint64
		dup   uint64
		lost  uint64
	}{
		{"in order", []arrival{{1, 0}, {2, 20}, {3, 40}, {4, 60}}, 6,
			[]int{-2, 1, 2, 3, 4, -1}, 0, 0, 0},
		{"reordered", []arrival{{1, 0}, {3, 20}, {2, 21}, {4, 60}, {5, 80}}, 6,
			[]int{-2, 1, 2, 3, 4, 5}, 0, 0, 0},
		{"duplicate", []arrival{{1, 0}, {2, 20}, {2, 21}, {3, 40}}, 4,
			[]int{-2, 1, 2, 3}, 0, 1, 0},
		{"lost", []arrival{{1, 0}, {2, 20}, {4, 60}, {5, 80}}, 6,
			[]int{-2, 1, 2, -1, 4, 5}, 0, 0, 1},
		{"late", []arrival{{1, 0}, {2, 20}, {4, 60}, {3, 61}, {5, 80}}, 6,
			[]int{-2, 1, 2, -1, 4, 5}, 1, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, c := play(t, tc.sched, tc.ticks)
			if !equalInts(got, tc.want) {
				t.Errorf("played %v, want %v", got, tc.want)
			}
			if c.late.Load() != tc.late || c.duplicate.Load() != tc.dup || c.lost.Load() != tc.lost {
				t.Errorf("late/dup/lost: got %d/%d/%d, want %d/%d/%d", c.late.Load(),
					c.duplicate.Load(), c.lost.Load(), tc.late, tc.dup, tc.lost)
			}
		})
	}
}

func TestJitterTargetAdapts(t *testing.T) {
	tests := []struct {
		name   string
		jitter func(i int) int // ms of delay for packet i
		want   int             // target frames
	}{
		{"clean", func(int) int { return 0 }, 1},
		{"30 ms every other packet", func(i int) int { return 30 * (i % 2) }, 3},
		{"70 ms one in ten", func(i int) int {
			if i%10 == 0 {
				return 70
			}
			return 0
		}, 5},
		{"rare spike ignored (below p95)", func(i int) int {
			if i%50 == 0 {
				return 200
			}
			return 0
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := newJitterCore(&counters{})
			base := time.Unix(1000, 0)
			for i := 1; i <= 200; i++ {
				at := base.Add(time.Duration(i*20+tc.jitter(i)) * time.Millisecond)
				j.insert(uint16(i), at)
				j.pop(at)
			}
			if j.target != tc.want {
				t.Errorf("target: got %d frames, want %d", j.target, tc.want)
			}
		})
	}
}

// TestJitterDrift runs a sender 1 % fast and 1 % slow for a minute: the buffer
// must stay shallow and playout continuous.
func TestJitterDrift(t *testing.T) {
	for _, ppm := range []int{-10000, 10000} {
		periodUS := 20000 * (1000000 - ppm) / 1000000 // fast sender: shorter period
		var sched []arrival
		for i := 0; i < 3100; i++ {
			sched = append(sched, arrival{seq: uint16(i), at: i * periodUS / 1000})
		}
		got, c := play(t, sched, 3000)
		gaps, conceal := 0, 0
		for _, v := range got[5:] {
			switch v {
			case -2:
				gaps++
			case -1:
				conceal++
			}
		}
		if gaps != 0 {
			t.Errorf("drift %d ppm: %d silent ticks after start, want 0", ppm, gaps)
		}
		// 1 % of 3000 ticks is 30 frames of drift to absorb.
		if ppm > 0 && (c.dropped.Load() < 20 || c.dropped.Load() > 40) {
			t.Errorf("fast sender: dropped %d frames, want about 30", c.dropped.Load())
		}
		if ppm < 0 && (conceal < 20 || conceal > 40) {
			t.Errorf("slow sender: concealed %d frames, want about 30", conceal)
		}
	}
}

// TestJitterShedsBacklog: when the mixer stalls for 200 ms, the frames that
// piled up are dropped within about half a second instead of staying as delay.
func TestJitterShedsBacklog(t *testing.T) {
	c := &counters{}
	j := newJitterCore(c)
	base := time.Unix(1000, 0)
	seq := uint16(0)
	tick := func(pop bool) {
		seq++
		j.insert(seq, base.Add(time.Duration(seq)*FrameDuration))
		if !pop {
			return
		}
		at := base.Add(time.Duration(seq) * FrameDuration)
		if _, res := j.pop(at); res == popDrop {
			j.pop(at)
		}
	}
	for range 100 {
		tick(true)
	}
	for range 10 { // the mixer stalls: packets keep coming
		tick(false)
	}
	if d := j.depth(); d < 10 {
		t.Fatalf("depth after the stall: got %d, want >= 10", d)
	}
	for range 25 {
		tick(true)
	}
	if d := j.depth(); d > j.target+jbSlack+jbBacklog+1 {
		t.Errorf("depth 500 ms after the stall: got %d frames, want <= %d", d, j.target+jbSlack+jbBacklog+1)
	}
}

// TestJitterShedsIdleFrame: packets that arrive a few ms before each tick on
// a clean line wait one frame plus that phase at first (the target counts
// whole frames plus one); within a couple of seconds the buffer plays them
// a frame earlier, without a concealed frame. With real jitter it keeps the
// frame.
func TestJitterShedsIdleFrame(t *testing.T) {
	for _, tc := range []struct {
		name     string
		jitterMS func(i int) int
		shed     bool
	}{
		{"clean, 5 ms before the tick", func(int) int { return 0 }, true},
		{"jitter up to 12 ms", func(i int) int { return (i * 7) % 13 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sched []arrival
			for i := 0; i < 400; i++ {
				sched = append(sched, arrival{seq: uint16(i), at: i*20 - 5 + tc.jitterMS(i)})
			}
			got, c := play(t, sched, 380)
			waits := func(from, to int) (lo, hi int) {
				lo, hi = 1<<30, -1
				for k := from; k < to; k++ {
					if got[k] < 0 {
						t.Fatalf("tick %d: %d (concealed or silent), want a frame", k, got[k])
					}
					w := k*20 - sched[got[k]].at
					lo, hi = min(lo, w), max(hi, w)
				}
				return lo, hi
			}
			lo0, hi0 := waits(10, 40)
			lo1, hi1 := waits(300, 380)
			t.Logf("frames waited %d-%d ms at first, %d-%d ms after 6 s; %d dropped", lo0, hi0, lo1, hi1, c.dropped.Load())
			if tc.shed && (hi1 > 5+jbWaitGuardMS || c.dropped.Load() != 1) {
				t.Errorf("clean line: frames still wait up to %d ms (%d dropped), want about 5 ms after one drop", hi1, c.dropped.Load())
			}
			if !tc.shed && c.dropped.Load() != 0 {
				t.Errorf("jittery line: %d frames dropped, want 0", c.dropped.Load())
			}
		})
	}
}

const jbWaitGuardMS = int(jbWaitGuard / time.Millisecond)

// A frame recovered from the next packet's redundancy (Opus RED, handed on
// after that packet) or reordered behind a newer one arrives a frame late by
// construction: that is no network jitter, and must not deepen the buffer.
// One in ten frames comes that way here; without the rule the target grows
// to 2 frames.
func TestJitterRecoveredFrameNotJitter(t *testing.T) {
	j := newJitterCore(&counters{})
	base := time.Unix(1000, 0)
	played := 0
	for i := 1; i <= 200; i++ {
		at := base.Add(time.Duration(i*20) * time.Millisecond)
		switch {
		case i%10 == 9: // lost on the way in
		case i%10 == 0: // the next packet: its own frame, then the one before it
			j.insert(uint16(i), at)
			j.insert(uint16(i-1), at)
		default:
			j.insert(uint16(i), at)
		}
		if _, res := j.pop(at); res == popFrame {
			played++
		}
	}
	if j.target != 1 {
		t.Errorf("target: got %d frames, want 1", j.target)
	}
	if played == 0 {
		t.Error("nothing played")
	}
}
