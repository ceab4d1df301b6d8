package mixer

import (
	"runtime"
	"sync"
)

// parallelMin is the number of phone legs from which a room spreads its sends
// over helper goroutines. Each leg's WriteAudio is one UDP send, about 5-40 µs
// of system time (on loopback the receiver's side runs in it too), so at a few
// hundred callers the sends, not the mixing, fill the 20 ms tick.
const parallelMin = 128

// senders are a room's helper goroutines for delivering the mix: the tick
// goroutine takes the first share of the legs and each helper one more. They
// live as long as the room's loop, so a tick starts no goroutine and
// allocates nothing.
type senders struct {
	r     *room
	start []chan int // one per helper; receives the number of legs
	wg    sync.WaitGroup
	quit  chan struct{}
	done  sync.WaitGroup
}

// newSenders starts one helper per extra CPU (none on one CPU).
func newSenders(r *room) *senders {
	n := min(runtime.GOMAXPROCS(0)-1, 7)
	s := &senders{r: r, quit: make(chan struct{})}
	for i := 0; i < n; i++ {
		ch := make(chan int)
		s.start = append(s.start, ch)
		s.done.Add(1)
		go s.helper(i+1, ch)
	}
	return s
}

func (s *senders) helper(part int, start chan int) {
	defer s.done.Done()
	for {
		select {
		case <-s.quit:
			return
		case n := <-start:
			lo, hi := share(n, part, len(s.start)+1)
			s.r.writeRange(lo, hi)
			s.wg.Done()
		}
	}
}

// round delivers to the first n legs of the room's snapshot in parallel.
func (s *senders) round(n int) {
	s.wg.Add(len(s.start))
	for _, ch := range s.start {
		ch <- n
	}
	lo, hi := share(n, 0, len(s.start)+1)
	s.r.writeRange(lo, hi)
	s.wg.Wait()
}

// stop ends the helpers and waits for them.
func (s *senders) stop() {
	close(s.quit)
	s.done.Wait()
}

// share returns part p of n items cut into parts nearly equal pieces.
func share(n, p, parts int) (lo, hi int) {
	return n * p / parts, n * (p + 1) / parts
}

// deliver hands every phone leg its mix: talkers their own N-1 mix, everyone
// else the shared one.
func (r *room) deliver() {
	for _, m := range r.legs {
		m.ownMix = m.talk.talker && m.talk.has
		if m.ownMix {
			minusOwn(m.out[:], r.sum[:], m.frame[:])
		}
	}
	if r.send == nil || len(r.send.start) == 0 || len(r.legs) < parallelMin {
		r.writeRange(0, len(r.legs))
		return
	}
	r.send.round(len(r.legs))
}

// writeRange calls WriteAudio for legs[lo:hi] of this tick's snapshot.
func (r *room) writeRange(lo, hi int) {
	for _, m := range r.legs[lo:hi] {
		if m.ownMix {
			m.leg.WriteAudio(m.out[:])
			continue
		}
		m.leg.WriteAudio(r.shared[:])
	}
}
