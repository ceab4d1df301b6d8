package mixer

import "math/bits"

// Talker selection. Only the loudest few inputs of a room are mixed; everyone
// else hears their mix and nothing of the rest (background noise from a
// hundred phone lines would otherwise add up to a roar). The choice has
// hysteresis so talkers do not flap: a talker keeps its place through pauses
// shorter than talkHold, and a challenger replaces the quietest talker only
// when it has been talkMargin louder for talkAhead ticks in a row.
const (
	// DefaultTalkers is how many inputs are mixed when Config.Talkers is zero.
	DefaultTalkers = 3

	talkThreshold = -45 * 4 // quarter-dBov: below this an input is not talking
	talkHold      = 15      // ticks (300 ms) of quiet before a talker is released
	talkMargin    = 6 * 4   // quarter-dB a challenger must be louder
	talkAhead     = 3       // ticks (60 ms) a challenger must stay louder
	talkDecay     = 2       // quarter-dB per tick the smoothed level falls (25 dB/s)
	levelFloor    = -127 * 4
)

// talkState is the part of every input (phone leg or browser track) that
// talker selection reads and writes. Owned by the room's tick goroutine.
type talkState struct {
	level  int  // smoothed level, quarter-dBov (0 is full scale)
	talker bool // mixed this tick
	quiet  int  // ticks in a row below talkThreshold
	has    bool // has audio this tick (a frame, concealment, or a packet)
}

// observe feeds this tick's level (quarter-dBov): a peak follower with fast
// attack and a slow fall, so syllable gaps do not drop the level.
func (s *talkState) observe(lvl int) {
	if lvl >= s.level {
		s.level = lvl
	} else {
		s.level = max(lvl, s.level-talkDecay)
	}
	if s.level < talkThreshold {
		s.quiet++
	} else {
		s.quiet = 0
	}
}

// energyLevel converts a frame's mean square energy to quarter-dBov, cheaply:
// each bit of the mean square is 3.01 dB, and full scale is 2^30.
func energyLevel(ms int64) int {
	if ms <= 0 {
		return levelFloor
	}
	return max(levelFloor, (bits.Len64(uint64(ms))-30)*12)
}

// rfc6464Level converts an RFC 6464 audio level (0..127, -dBov) to quarter-dBov.
func rfc6464Level(l uint8) int { return -int(l&0x7f) * 4 }

// talkers is a room's current talker set.
type talkers struct {
	max        int
	list       []*talkState
	cands      []*talkState // this tick's loudest non-talkers, loudest first
	challenger *talkState
	ahead      int
}

func newTalkers(n int) talkers {
	if n <= 0 {
		n = DefaultTalkers
	}
	return talkers{max: n, list: make([]*talkState, 0, n), cands: make([]*talkState, 0, n)}
}

// offer feeds this tick's level (quarter-dBov) to s and keeps s among the
// candidates if it is a loud enough non-talker.
func (t *talkers) offer(s *talkState, lvl int) {
	s.observe(lvl)
	if s.talker || s.level < talkThreshold {
		return
	}
	n := len(t.cands)
	if n == t.max {
		if s.level <= t.cands[n-1].level {
			return
		}
		n--
	}
	t.cands = t.cands[:n+1]
	i := n
	for i > 0 && t.cands[i-1].level < s.level {
		t.cands[i] = t.cands[i-1]
		i--
	}
	t.cands[i] = s
}

// update releases quiet talkers, fills free places with the loudest
// candidates, and lets the loudest remaining one challenge the quietest talker.
func (t *talkers) update() {
	t.release()
	c := t.cands
	for len(c) > 0 && len(t.list) < t.max {
		t.admit(c[0])
		c = c[1:]
	}
	var best *talkState
	if len(c) > 0 {
		best = c[0]
	}
	clear(t.cands)
	t.cands = t.cands[:0]
	t.challenge(best)
}

// release drops the talkers that have been quiet for talkHold ticks.
func (t *talkers) release() {
	kept := t.list[:0]
	for _, s := range t.list {
		if s.quiet >= talkHold {
			s.talker = false
			continue
		}
		kept = append(kept, s)
	}
	clear(t.list[len(kept):])
	t.list = kept
}

// challenge swaps best for the quietest talker once it has been talkMargin
// louder for talkAhead ticks in a row.
func (t *talkers) challenge(best *talkState) {
	if best == nil || len(t.list) == 0 {
		t.challenger, t.ahead = nil, 0
		return
	}
	qi := 0
	for i, s := range t.list {
		if s.level < t.list[qi].level {
			qi = i
		}
	}
	if best.level < t.list[qi].level+talkMargin {
		t.challenger, t.ahead = nil, 0
		return
	}
	if t.challenger != best {
		t.challenger, t.ahead = best, 0
	}
	t.ahead++
	if t.ahead >= talkAhead {
		t.list[qi].talker = false
		t.list[qi] = best
		best.talker, best.quiet = true, 0
		t.challenger, t.ahead = nil, 0
	}
}

func (t *talkers) admit(s *talkState) {
	s.talker, s.quiet = true, 0
	t.list = append(t.list, s)
}

// forget removes s (an input that left the room).
func (t *talkers) forget(s *talkState) {
	for i, x := range t.list {
		if x == s {
			t.list = append(t.list[:i], t.list[i+1:]...)
			break
		}
	}
	for i, x := range t.cands {
		if x == s {
			t.cands = append(t.cands[:i], t.cands[i+1:]...)
			break
		}
	}
	if t.challenger == s {
		t.challenger, t.ahead = nil, 0
	}
	s.talker = false
}
