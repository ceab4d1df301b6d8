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
	log        *slog.Logger
	removeSink func()
	stop       chan struct{}
	done       chan struct{}
	closeOnce  sync.Once

	mu      sync.Mutex
	members []*Member
	sources map[string]*browserSource

	// Scratch space of the tick goroutine; reused so the tick allocates nothing.
	frames [][]int16
	legs   []*Member
	sum    [FrameSamples]int32
	out    [FrameSamples]int16
}

func newRoom(id string, log *slog.Logger) *room {
	return &room{
		id:      id,
		log:     log,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		sources: map[string]*browserSource{},
	}
}

func (r *room) run() {
	defer close(r.done)
	t := time.NewTicker(FrameDuration)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case now := <-t.C:
			r.mixOnce(now)
		}
	}
}

// mixOnce is one tick: take one frame from every input, sum once, and give each
// phone leg the sum minus its own frame. Tests call it directly with any now.
func (r *room) mixOnce(now time.Time) {
	r.mu.Lock()
	r.frames, r.legs = r.frames[:0], r.legs[:0]
	for _, m := range r.members {
		m.has = m.in.pop(m.frame[:])
		if m.has {
			r.frames = append(r.frames, m.frame[:])
		}
		r.legs = append(r.legs, m)
	}
	for id, s := range r.sources {
		if now.Sub(s.lastSeen) > sourceIdle {
			delete(r.sources, id)
			continue
		}
		if s.in.pop(s.frame[:]) {
			r.frames = append(r.frames, s.frame[:])
		}
	}
	r.mu.Unlock()

	sumInto(r.sum[:], r.frames)
	for _, m := range r.legs {
		var own []int16
		if m.has {
			own = m.frame[:]
		}
		minusOwn(r.out[:], r.sum[:], own)
		m.leg.WriteAudio(r.out[:])
	}
}

// OnAudio implements AudioSink: decode a browser's Opus packet into its queue.
func (r *room) OnAudio(participantID string, pkt *rtp.Packet) {
	r.mu.Lock()
	s := r.sources[participantID]
	if s == nil {
		var err error
		if s, err = newBrowserSource(); err != nil {
			r.mu.Unlock()
			r.log.Warn("mixer: browser source", "participant", participantID, "err", err)
			return
		}
		r.sources[participantID] = s
	}
	s.lastSeen = time.Now()
	r.mu.Unlock()

	// Decoding happens outside the room lock; s.decMu serialises one source.
	s.decMu.Lock()
	pcm := s.decode(pkt)
	if len(pcm) > 0 {
		r.mu.Lock()
		s.in.push(pcm)
		r.mu.Unlock()
	}
	s.decMu.Unlock()
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
			break
		}
	}
	return len(r.members) == 0
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
