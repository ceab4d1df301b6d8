package mixer

import (
	"log/slog"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// sourceIdle is how long a browser audio source may stay silent on the wire
// before the room forgets it (its decoder state is freed).
const sourceIdle = 5 * time.Second

// room is the mixing loop of one room.
type room struct {
	id         string
	cfg        Config
	stats      *counters
	log        *slog.Logger
	removeSink func()
	stop       chan struct{}
	done       chan struct{}
	closeOnce  sync.Once

	mu      sync.Mutex
	members []*Member
	sources map[string]*browserSource

	// Owned by the tick goroutine; reused so the tick allocates nothing.
	legs    []*Member
	srcs    []*browserSource
	talk    talkers
	tick    tickStats
	sum     [FrameSamples]int32
	tickN   uint64       // ticks run, for resampler continuity
	shared  Frame        // what every non-talker hears
	send    *senders     // nil while tests tick by hand
	removed []*talkState // inputs that left since the last tick
	gone    []*Member    // members that left since the last tick: their encoders are closed
}

func newRoom(id string, cfg Config, c *counters, log *slog.Logger) *room {
	return &room{
		id:      id,
		cfg:     cfg,
		stats:   c,
		log:     log,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		sources: map[string]*browserSource{},
		talk:    newTalkers(cfg.Talkers),
	}
}

// maxCatchUp bounds how many ticks one wake-up may run when the loop was
// delayed (a busy machine: the process waited for a CPU). time.Ticker drops
// the ticks it could not deliver; each tick not run is a packet every caller
// misses and a frame more in every jitter buffer (20 ms of delay until drift
// correction removes it), so the loop runs the missed ticks back to back, up
// to 100 ms of them. Beyond that the gap is dropped and the loop starts afresh.
const maxCatchUp = 5

// catchUpBudget is how long one wake-up may spend on catch-up ticks: when the
// tick itself is what takes long (overload), more ticks would only add to it.
const catchUpBudget = FrameDuration / 2

func (r *room) run() {
	defer close(r.done)
	defer func() {
		r.mu.Lock()
		r.closeGone()
		r.shared.closeEncoders()
		r.mu.Unlock()
	}()
	r.send = newSenders(r)
	defer r.send.stop()
	t := time.NewTicker(FrameDuration)
	defer t.Stop()
	var next time.Time // when the next tick is due
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			// The tick's own time may be stale when the loop was late;
			// what counts is how many frame times have really passed.
			now := time.Now()
			if next.IsZero() {
				next = now
			}
			var due int
			due, next = dueTicks(now, next)
			for i := 0; i < due; i++ {
				if i > 0 && time.Since(now) > catchUpBudget {
					next = now.Add(FrameDuration) // overloaded: skip the rest
					break
				}
				r.mixOnce(now)
			}
		}
	}
}

// dueTicks returns how many ticks are due at now when the next one was due at
// next (0 when the wake-up is early, at most maxCatchUp) and when the tick
// after them is due. Times within half a frame count as on time, so timer
// jitter neither adds nor drops a tick.
func dueTicks(now, next time.Time) (int, time.Time) {
	late := now.Sub(next) + FrameDuration/2
	if late < 0 {
		return 0, next
	}
	due := int(late/FrameDuration) + 1
	if due > maxCatchUp {
		// Too far behind: run maxCatchUp ticks and count from now.
		return maxCatchUp, now.Add(FrameDuration)
	}
	return due, next.Add(time.Duration(due) * FrameDuration)
}

// mixOnce is one tick: take one frame (or concealment) from every input's
// jitter buffer, choose the talkers, sum the talkers once, and give every
// non-talker the same limited sum and every talking phone leg the sum minus
// its own voice. Tests call it directly with any now.
func (r *room) mixOnce(now time.Time) {
	start := time.Now() // for the tick duration metric only, not for logic
	r.tickN++
	r.snapshot(now)
	for _, m := range r.legs {
		m.talk.has = m.pop(&r.tick, now)
		lvl := levelFloor
		if m.talk.has {
			lvl = energyLevel(level(m.frame[:m.n]))
		}
		r.talk.offer(&m.talk, lvl)
	}
	for _, s := range r.srcs {
		s.hasFrame = false
		lvl := levelFloor
		if s.res != popNone && s.cur.level == 1 { // no level header: measure
			s.hasFrame = s.decode(r.stats, &r.tick)
			if s.hasFrame {
				lvl = energyLevel(level(s.frame[:]))
			}
		} else if s.res == popFrame {
			lvl = s.cur.level
		}
		r.talk.offer(&s.talk, lvl)
	}
	r.talk.update()
	r.sumTalkers()
	r.deliver()
	r.stats.addTick(time.Since(start), &r.tick)
}

// snapshot copies the room's inputs for this tick and takes each browser
// packet out of its jitter buffer, under the room lock.
func (r *room) snapshot(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.removed {
		r.talk.forget(s)
	}
	clear(r.removed)
	r.removed = r.removed[:0]
	r.closeGone()
	r.legs = append(r.legs[:0], r.members...)
	r.srcs = r.srcs[:0]
	for id, s := range r.sources {
		if now.Sub(s.lastSeen) > sourceIdle {
			delete(r.sources, id)
			r.talk.forget(&s.talk)
			continue
		}
		s.take(&r.tick, now)
		r.srcs = append(r.srcs, s)
	}
}

// sumTalkers decodes the talking browser tracks and sums every talker's frame.
func (r *room) sumTalkers() {
	clear(r.sum[:])
	for _, s := range r.srcs {
		if s.talk.talker && !s.hasFrame && s.needsDecode() {
			s.hasFrame = s.decode(r.stats, &r.tick)
		}
		if s.talk.talker && s.hasFrame {
			addInto(r.sum[:], s.frame[:])
		}
	}
	for _, m := range r.legs {
		if m.talk.talker && m.talk.has {
			addInto(r.sum[:], m.widen(r.tickN))
		}
	}
	for i, v := range r.sum {
		r.shared.wide[i] = softLimit(v)
	}
	r.shared.startTick(false)
}

// OnAudio implements AudioSink: buffer a browser's Opus packet. Decoding
// happens on the tick, and only for talkers.
func (r *room) OnAudio(participantID string, pkt *rtp.Packet) {
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sources[participantID]
	if s == nil {
		var err error
		if s, err = newBrowserSource(r.stats); err != nil {
			r.log.Warn("mixer: browser source", "participant", participantID, "err", err)
			return
		}
		r.sources[participantID] = s
	}
	s.lastSeen = now
	s.insert(pkt, r.cfg.AudioLevelID, now)
}

func (r *room) add(m *Member) {
	r.mu.Lock()
	r.members = append(r.members, m)
	r.mu.Unlock()
}

// remove drops m and reports whether no member is left.
func (r *room) remove(m *Member) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, x := range r.members {
		if x == m {
			r.members = append(r.members[:i], r.members[i+1:]...)
			r.removed = append(r.removed, &m.talk)
			r.gone = append(r.gone, m)
			break
		}
	}
	return len(r.members) == 0
}

// closeGone closes the encoders of members that left (r.mu held, on the
// tick goroutine or after the loop ended: no delivery uses them any more).
func (r *room) closeGone() {
	for _, m := range r.gone {
		m.out.closeEncoders()
	}
	clear(r.gone)
	r.gone = r.gone[:0]
}

func (r *room) snapshotMembers() []*Member {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Member(nil), r.members...)
}

// close stops the loop and unsubscribes from the SFU; idempotent.
func (r *room) close() {
	r.closeOnce.Do(func() {
		close(r.stop)
		<-r.done
		if r.removeSink != nil {
			r.removeSink()
		}
	})
}
