package mixer

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallelMin is the number of phone legs from which a room spreads its sends
// over helper goroutines. Each leg's WriteAudio is one UDP send, about 5-40 µs
// of system time (on loopback the receiver's side runs in it too), so at a few
// hundred callers the sends, not the mixing, fill the 20 ms tick.
const parallelMin = 128

// senders are a room's helper goroutines for delivering the mix. They live
// as long as the room's loop, so a tick starts no goroutine and allocates
// nothing. A round does not cut the legs into fixed shares: the tick
// goroutine and the helpers claim chunks of sendChunk legs until none are
// left, so when the machine is busy and a helper's thread waits for a CPU,
// the others send its part instead of the tick waiting for it; the tick
// waits only for chunks already being sent.
type senders struct {
	r     *room
	start []chan uint64 // one per helper; receives the round's claim word
	quit  chan struct{}
	done  sync.WaitGroup

	// claim packs the round number (bits 48-63), the round's number of legs
	// (24-47) and the next unclaimed leg (0-23) into one word, so a claim is
	// valid only within its round: a helper that wakes late claims nothing
	// of a later round.
	claim    atomic.Uint64
	sent     atomic.Int64 // legs of the current round sent so far
	finished chan struct{}
	round    uint16
}

// sendChunk is how many legs one claim covers: about 50-200 µs of sends.
const sendChunk = 16

// maxParallelLegs is the most legs a round can count (24 bits of claim).
const maxParallelLegs = 1<<24 - 1

// newSenders starts one helper per extra CPU (none on one CPU).
func newSenders(r *room) *senders {
	n := min(runtime.GOMAXPROCS(0)-1, 7)
	s := &senders{r: r, quit: make(chan struct{}), finished: make(chan struct{}, 1)}
	for i := 0; i < n; i++ {
		ch := make(chan uint64)
		s.start = append(s.start, ch)
		s.done.Add(1)
		go s.helper(ch)
	}
	return s
}

func (s *senders) helper(start chan uint64) {
	defer s.done.Done()
	for {
		select {
		case <-s.quit:
			return
		case c := <-start:
			if s.work(c) {
				s.finished <- struct{}{}
			}
		}
	}
}

// work sends claimed chunks of the round that started with claim word c
// until none is left; it reports whether it sent the round's last legs.
func (s *senders) work(c uint64) (last bool) {
	const mask = 1<<24 - 1
	for {
		cur := s.claim.Load()
		n, lo := int64(cur>>24&mask), int64(cur&mask)
		if cur>>48 != c>>48 || lo >= n {
			return last
		}
		hi := min(lo+sendChunk, n)
		if !s.claim.CompareAndSwap(cur, cur+uint64(hi-lo)) {
			continue
		}
		s.r.writeRange(int(lo), int(hi))
		if s.sent.Add(hi-lo) == n {
			last = true
		}
	}
}

// deliver sends to the first n legs (at most maxParallelLegs) of the room's
// snapshot in parallel and returns when all are sent.
func (s *senders) deliver(n int) {
	s.round++
	c := uint64(s.round)<<48 | uint64(n)<<24
	s.sent.Store(0)
	s.claim.Store(c)
	for _, ch := range s.start {
		select {
		case ch <- c:
		default: // still busy with the last round's tail: the others do its part
		}
	}
	if !s.work(c) {
		<-s.finished // a helper sends the last chunk
	}
}

// stop ends the helpers and waits for them.
func (s *senders) stop() {
	close(s.quit)
	s.done.Wait()
}

// handoverTicks is how long (300 ms) a leg that stopped talking keeps its own
// Frame, now carrying the shared mix, before it moves to the shared Frame.
// Its stream comes from a stateful encoder (G.722's ADPCM, Opus) that is not
// the room's: switching at once would give the caller's decoder a stream it
// has no state for (an error burst of about -18 dB that takes some 300 ms to
// fade, measured with G.722). Fed the same audio, the two encoders' states
// converge, so the switch after the hand-over is inaudible.
const handoverTicks = 15

// deliver hands every phone leg its mix: talkers their own N-1 mix, everyone
// else the shared one (a leg that just stopped talking after a hand-over).
func (r *room) deliver() {
	for _, m := range r.legs {
		own := m.talk.talker && m.talk.has
		switch {
		case own:
			m.handover = handoverTicks
			minusOwn(m.out.wide[:], r.sum[:], m.mixed)
		case m.handover > 0:
			m.handover--
			copy(m.out.wide[:], r.shared.wide[:])
			own = true
		}
		if own {
			m.out.seed = &r.shared
			m.out.startTick(m.outTick+1 != r.tickN)
			m.outTick = r.tickN
		}
		m.ownMix = own
	}
	if r.send == nil || len(r.send.start) == 0 || len(r.legs) < parallelMin || len(r.legs) > maxParallelLegs {
		r.writeRange(0, len(r.legs))
	} else {
		r.send.deliver(len(r.legs))
	}
	r.shared.endTick()
	for _, m := range r.legs {
		if m.ownMix {
			m.out.endTick()
		}
	}
}

// writeRange hands legs[lo:hi] of this tick's snapshot their mix: a talker
// its own Frame, everyone else the room's shared one, whose encodings the
// legs share (WriteFrame); legs that only take PCM get WriteAudio.
func (r *room) writeRange(lo, hi int) {
	for _, m := range r.legs[lo:hi] {
		f := &r.shared
		if m.ownMix {
			f = &m.out
		}
		if m.fleg != nil {
			m.fleg.WriteFrame(f)
			continue
		}
		m.leg.WriteAudio(f.PCM())
	}
}
