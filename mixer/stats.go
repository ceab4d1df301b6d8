package mixer

import (
	"sync/atomic"
	"time"
)

// nTickBuckets is the number of bounded buckets of the tick duration histogram.
const nTickBuckets = 9

// TickBuckets returns the upper bounds of the tick duration histogram in Stats.
func TickBuckets() [nTickBuckets]time.Duration {
	return [nTickBuckets]time.Duration{
		50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond,
		500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond,
		5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond,
	}
}

// DepthBuckets is the number of jitter-buffer depth buckets (0..DepthBuckets-1
// frames; the last also counts anything deeper).
const DepthBuckets = jbMax + 1

// Stats is a snapshot of the mixer's counters, for metrics. Counters only grow.
type Stats struct {
	Rooms, Calls, BrowserInputs int

	Ticks       uint64
	TickSeconds float64
	// TickCounts[i] counts ticks that took at most TickBuckets()[i] (not
	// cumulative); TickCounts[nTickBuckets] counts the slower ones.
	TickCounts [nTickBuckets + 1]uint64

	// Depth[i] counts input-ticks that found i frames buffered.
	Depth [DepthBuckets]uint64

	Late, Duplicate, Lost, Concealed, Dropped uint64
	// FEC counts lost browser frames recovered from the next packet's FEC.
	FEC uint64
	// Encodes counts Opus encodes (phone voice towards the browsers); Decodes
	// counts Opus decodes of browser tracks (talkers only).
	Encodes, Decodes uint64
}

// counters are the mixer-wide atomic counters behind Stats.
type counters struct {
	ticks      atomic.Uint64
	tickNanos  atomic.Uint64
	tickCounts [nTickBuckets + 1]atomic.Uint64
	depth      [DepthBuckets]atomic.Uint64

	late, duplicate, lost, concealed, dropped, fec atomic.Uint64
	encodes, decodes                               atomic.Uint64
}

// tickStats accumulates one tick's figures without atomics.
type tickStats struct {
	depth   [DepthBuckets]uint64
	decodes uint64
}

func (c *counters) addTick(d time.Duration, t *tickStats) {
	c.ticks.Add(1)
	c.tickNanos.Add(uint64(d))
	i, bounds := 0, TickBuckets()
	for i < nTickBuckets && d > bounds[i] {
		i++
	}
	c.tickCounts[i].Add(1)
	for i, n := range t.depth {
		if n > 0 {
			c.depth[i].Add(n)
		}
	}
	if t.decodes > 0 {
		c.decodes.Add(t.decodes)
	}
	*t = tickStats{}
}

func (t *tickStats) observeDepth(frames int) {
	t.depth[min(max(frames, 0), DepthBuckets-1)]++
}

// Stats returns a snapshot of the mixer's counters.
func (m *Mixer) Stats() Stats {
	var s Stats
	m.mu.Lock()
	s.Rooms = len(m.rooms)
	for _, r := range m.rooms {
		r.mu.Lock()
		s.Calls += len(r.members)
		s.BrowserInputs += len(r.sources)
		r.mu.Unlock()
	}
	m.mu.Unlock()
	c := &m.stats
	s.Ticks = c.ticks.Load()
	s.TickSeconds = time.Duration(c.tickNanos.Load()).Seconds()
	for i := range s.TickCounts {
		s.TickCounts[i] = c.tickCounts[i].Load()
	}
	for i := range s.Depth {
		s.Depth[i] = c.depth[i].Load()
	}
	s.Late, s.Duplicate, s.Lost = c.late.Load(), c.duplicate.Load(), c.lost.Load()
	s.Concealed, s.Dropped, s.FEC = c.concealed.Load(), c.dropped.Load(), c.fec.Load()
	s.Encodes, s.Decodes = c.encodes.Load(), c.decodes.Load()
	return s
}
