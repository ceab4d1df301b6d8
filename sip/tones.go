package sip

import (
	"math"
	"sync"
	"time"

	"dialroom/mixer"
)

// Join and leave tones: like Asterisk ConfBridge (whose users hear a
// sound when someone enters or leaves unless the profile is quiet),
// callers hear a short rising tone when the room grows and a falling one
// when it shrinks. Config.QuietJoinLeave turns them off.
const (
	toneCheckEvery = 500 * time.Millisecond // between looks at the room's size
	toneGap        = 3 * time.Second        // at most one tone this often; changes in between are summed up
	toneSamples    = 2400                   // 300 ms per tone
)

// RoomSizer is optionally implemented by a Membership: RoomSize is the
// number of participants in the room now, the caller included. Without it
// the caller hears no join or leave tones.
type RoomSizer interface {
	RoomSize() int
}

// roomWatch follows the room's size for one joined call.
type roomWatch struct {
	sizer   RoomSizer // nil: no tones
	known   int       // size at join or at the last tone
	checked time.Time // last look at the size
	last    time.Time // join or last tone
}

// watchRoom is called on every tick of the call's loop while joined: every
// toneCheckEvery, at most once per toneGap, it plays the join tone if the room grew
// since the last tone and the leave tone if it shrank.
func (c *call) watchRoom(now time.Time) {
	w := &c.watch
	if w.sizer == nil || !c.joined {
		return
	}
	if now.Sub(w.checked) < toneCheckEvery || now.Sub(w.last) < toneGap {
		return
	}
	w.checked = now
	n := w.sizer.RoomSize()
	if n == w.known {
		return
	}
	c.media.playOverlay(sweepTone(n > w.known))
	w.known, w.last = n, now
}

// startWatch begins following the room's size after a join.
func (c *call) startWatch(m Membership) {
	s, ok := m.(RoomSizer)
	if !ok || c.quiet {
		return
	}
	c.watch = roomWatch{sizer: s, known: s.RoomSize(), last: time.Now()}
}

// sweepTone is a 300 ms two-note chime at half scale: low then high when
// up (someone joined), high then low otherwise. The two chimes are made
// once and shared by every call: callers only read them.
func sweepTone(up bool) []int16 {
	joinTone, leaveTone := chimes()
	if up {
		return joinTone
	}
	return leaveTone
}

var chimes = sync.OnceValues(func() ([]int16, []int16) { return makeSweep(true), makeSweep(false) })

func makeSweep(up bool) []int16 {
	lo, hi := 523.0, 784.0 // C5, G5
	if !up {
		lo, hi = hi, lo
	}
	out := make([]int16, toneSamples)
	for i := range out {
		f := lo
		if i >= toneSamples/2 {
			f = hi
		}
		env := math.Sin(math.Pi * float64(i%(toneSamples/2)) / float64(toneSamples/2)) // no clicks
		out[i] = int16(12000 * env * math.Sin(2*math.Pi*f*float64(i)/mixer.NarrowRate))
	}
	return out
}
