package mixer

import (
	"slices"
	"time"
)

// jitterCore is the bookkeeping half of a jitter buffer: which 20 ms frames
// (by sequence number) are buffered, which one plays next, and how deep the
// buffer should be. The frame data lives in the owner's slot array at the
// index insert and pop return, so one core serves PCM (phone legs) and Opus
// packets (browser tracks) alike, without allocation.
//
// The target depth adapts to the measured jitter: the 95th percentile of each
// packet's transit delay above the fastest recent one, plus one frame. When
// the sender's clock runs slow the buffer runs dry and the owner conceals a
// frame without advancing (the stream is stretched by 20 ms); when it runs fast
// the buffer grows past the target and one frame is dropped (preferably a quiet
// one, see dropOK). Not safe for concurrent use; the owner locks.
type jitterCore struct {
	slots   [jbSlots]jbSlot
	next    uint16 // sequence number that plays next
	playing bool
	started bool // next and the transit base are valid

	// Jitter estimate: transit = arrival - seq*20ms, relative to a base.
	base     time.Time
	baseSeq  uint16
	transits [jbWindow]time.Duration
	nTransit int
	newest   uint16 // newest sequence number measured; valid once nTransit > 0
	target   int    // frames buffered before playout starts, and kept

	concealed int // frames concealed in a row
	excess    int // ticks in a row with more than target+jbSlack frames

	// Waiting time of the frames played (tick time minus arrival): when
	// over a whole window every frame waited a full frame longer than the
	// jitter needs, one frame is shed (see shedIdle).
	arrived [jbSlots]time.Time
	waitMin time.Duration
	waitN   int

	stats *counters // shared by the mixer; events are rare, so atomics are cheap
}

type jbSlot struct {
	seq  uint16
	full bool
}

const (
	jbSlots   = 32  // 640 ms: more is a sequence jump, not jitter
	jbWindow  = 64  // packets in the jitter estimate (about 1.3 s)
	jbMax     = 12  // frames (240 ms): the deepest target
	jbSlack   = 0   // frames above target tolerated (after the pop) before drift correction
	jbPatient = 25  // ticks (500 ms) of excess before one frame is dropped
	jbBacklog = 3   // frames of excess that are shed quickly
	jbMaxPLC  = 5   // frames (100 ms) concealed in a row before playout stops
	jbStartup = 2   // frames of target before any jitter was measured
	jbReset   = 100 // frames behind playout that mean the sender restarted

	// jbWaitWindow is how many played frames shedIdle watches (1 s), and
	// jbWaitGuard the margin it keeps above the measured jitter.
	jbWaitWindow = 50
	jbWaitGuard  = 2 * time.Millisecond
)

// popResult says what the owner should play this tick.
type popResult int

const (
	popNone    popResult = iota // not playing: the input is silent
	popFrame                    // play the slot at the returned index
	popLost                     // the frame was lost: conceal, later frames exist
	popStretch                  // ran dry while playing: conceal, do not advance
	popDrop                     // drift: the owner may drop the slot at index, then pop again
)

func newJitterCore(c *counters) jitterCore {
	return jitterCore{target: jbStartup, stats: c}
}

// insert records a packet with sequence number seq that arrived at now and
// returns the slot index for its data; ok is false for late, duplicate or
// absurd packets, which the owner discards.
func (j *jitterCore) insert(seq uint16, now time.Time) (idx int, ok bool) {
	if !j.started {
		j.started, j.next = true, seq
		j.base, j.baseSeq = now, seq
	}
	d := int16(seq - j.next)
	if d < 0 {
		if d > -jbReset {
			j.stats.late.Add(1)
			return 0, false
		}
		j.restart(seq, now) // a new stream: far behind means a restart
	} else if int(d) >= jbSlots {
		j.restart(seq, now)
	}
	// A frame older than one already measured (reordered, or recovered
	// from the next packet's redundancy and handed on after it, as RED is)
	// would count its wait for the newer one as jitter: not measured.
	if j.nTransit == 0 || int16(seq-j.newest) > 0 {
		j.newest = seq
		j.measure(seq, now)
	}
	idx = int(seq % jbSlots)
	s := &j.slots[idx]
	if s.full && s.seq == seq {
		j.stats.duplicate.Add(1)
		return 0, false
	}
	s.seq, s.full = seq, true
	j.arrived[idx] = now
	return idx, true
}

// restart forgets everything buffered and starts over at seq.
func (j *jitterCore) restart(seq uint16, now time.Time) {
	for i := range j.slots {
		j.slots[i].full = false
	}
	j.next, j.playing = seq, false
	j.base, j.baseSeq, j.nTransit = now, seq, 0
	j.waitN = 0
}

// measure adds one transit sample and updates the target depth.
func (j *jitterCore) measure(seq uint16, now time.Time) {
	expected := time.Duration(int16(seq-j.baseSeq)) * FrameDuration
	t := now.Sub(j.base) - expected
	if t < 0 { // faster than ever: this packet is the new reference
		j.base = j.base.Add(t)
		for i := range min(j.nTransit, jbWindow) {
			j.transits[i] -= t
		}
		t = 0
	}
	j.transits[j.nTransit%jbWindow] = t
	j.nTransit++
	if j.nTransit%8 == 0 {
		j.target = targetFrames(j.p95())
	}
}

// p95 returns the 95th percentile of the transit window, relative to its minimum.
func (j *jitterCore) p95() time.Duration {
	n := min(j.nTransit, jbWindow)
	var tmp [jbWindow]time.Duration
	w := tmp[:n]
	copy(w, j.transits[:n])
	slices.Sort(w)
	return w[n*95/100] - w[0]
}

// targetFrames turns a p95 jitter into a buffer depth: enough whole frames to
// cover it, plus one.
func targetFrames(p95 time.Duration) int {
	f := int((p95+FrameDuration-1)/FrameDuration) + 1
	return min(max(f, 1), jbMax)
}

// depth returns how many frames from next to the newest buffered one.
func (j *jitterCore) depth() int {
	n := 0
	for i := range j.slots {
		s := &j.slots[i]
		if s.full {
			if d := int(int16(s.seq - j.next)); d >= 0 && d+1 > n {
				n = d + 1
			}
		}
	}
	return n
}

// pop decides what plays at the tick at now. For popFrame and popDrop, idx is
// the slot to use; the slot is released when pop returns (the owner copies or
// decodes it before the next insert, under the same lock).
func (j *jitterCore) pop(now time.Time) (idx int, res popResult) {
	if !j.playing {
		j.skipToFirst()
		if j.depth() < j.target {
			return 0, popNone
		}
		j.playing, j.concealed = true, 0
	}
	depth := j.depth()
	idx = int(j.next % jbSlots)
	s := &j.slots[idx]
	if s.full && s.seq == j.next {
		s.full = false
		j.next++
		j.concealed = 0
		if j.trackExcess(depth-1) || j.shedIdle(now.Sub(j.arrived[idx]), depth-1) {
			j.stats.dropped.Add(1)
			return idx, popDrop
		}
		return idx, popFrame
	}
	j.concealed++
	if j.concealed > jbMaxPLC {
		j.playing = false
		return 0, popNone
	}
	j.stats.concealed.Add(1)
	if depth > 0 { // later frames are here: this one is lost
		j.stats.lost.Add(1)
		j.next++
		return idx, popLost
	}
	return idx, popStretch
}

// skipToFirst moves next to the oldest buffered frame.
func (j *jitterCore) skipToFirst() {
	best := -1
	for i := range j.slots {
		s := &j.slots[i]
		if s.full {
			if d := int(int16(s.seq - j.next)); d >= 0 && (best < 0 || d < best) {
				best = d
			}
		}
	}
	if best > 0 {
		j.next += uint16(best)
	}
}

// trackExcess reports whether one frame should be dropped: the buffer has
// held more than target+jbSlack frames for jbPatient ticks (the sender's clock
// is fast), or for two ticks more than jbBacklog frames beyond that (the mixer
// itself stalled and a backlog built up; every frame of it is delay).
func (j *jitterCore) trackExcess(depth int) bool {
	over := depth - (j.target + jbSlack)
	if over <= 0 {
		j.excess = 0
		return false
	}
	j.excess++
	patience := jbPatient
	if over > jbBacklog {
		patience = 2
	}
	if j.excess < patience {
		return false
	}
	j.excess = 0
	return true
}

// shedIdle reports whether one frame should be dropped because the buffer is
// a whole frame deeper than the jitter needs: the target counts in whole
// frames plus one, but where the packets arrive relative to the ticks decides
// how long each really waits. When every frame played in the last
// jbWaitWindow ticks waited at least a frame plus the measured jitter plus
// jbWaitGuard (and the next frame is already here), the stream plays one
// frame earlier from now on: up to 20 ms less delay on a clean line, none
// taken where the jitter needs it.
func (j *jitterCore) shedIdle(wait time.Duration, behind int) bool {
	if j.waitN == 0 || wait < j.waitMin {
		j.waitMin = wait
	}
	j.waitN++
	if j.waitN < jbWaitWindow {
		return false
	}
	j.waitN = 0
	return behind >= 1 && j.waitMin >= FrameDuration+j.p95()+jbWaitGuard
}

// peek returns the slot index of seq if it is buffered.
func (j *jitterCore) peek(seq uint16) (int, bool) {
	idx := int(seq % jbSlots)
	s := &j.slots[idx]
	return idx, s.full && s.seq == seq
}
