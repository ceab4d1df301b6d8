package loadtest

import (
	"math/rand/v2"
	"sync"
	"time"
)

// pacer sends every caller's next packet on one 20 ms clock: one goroutine
// for all callers keeps the load tool's own cost small.
type pacer struct {
	mu     sync.Mutex
	calls  []*caller
	bursts bool
	jitter time.Duration // extra random delay per packet, 0..jitter
	rnd    *rand.Rand
	mk     *Markers // where the mouth's burst starts go
	quit   chan struct{}
	done   chan struct{}
}

func newPacer(jitter time.Duration, mk *Markers) *pacer {
	p := &pacer{quit: make(chan struct{}), done: make(chan struct{}), jitter: jitter, mk: mk,
		rnd: rand.New(rand.NewPCG(1, 2))}
	go p.run()
	return p
}

func (p *pacer) add(c *caller) {
	p.mu.Lock()
	p.calls = append(p.calls, c)
	p.mu.Unlock()
}

func (p *pacer) setBursts(on bool) {
	p.mu.Lock()
	p.bursts = on
	p.mu.Unlock()
}

func (p *pacer) run() {
	defer close(p.done)
	t := time.NewTicker(frameDur)
	defer t.Stop()
	start, sent := time.Now(), 0
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			// A phone sends 50 packets a second whatever happens to this
			// process: when a wake-up came late (time.Ticker drops ticks),
			// send the frames that are due, up to 100 ms worth.
			due := int(time.Since(start) / frameDur)
			if due-sent > 5 {
				sent = due - 5
			}
			for ; sent < due; sent++ {
				p.tick()
			}
		}
	}
}

func (p *pacer) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.calls {
		pkt, start := c.next(p.bursts)
		sent := time.Now()
		if start {
			p.mk.burst(mouthPhone, sent) // the burst starts at offset 0 of the packet
		}
		if p.jitter > 0 {
			p.sendLate(c, pkt)
			continue
		}
		_, _ = c.conn.WriteToUDP(pkt, c.remote)
	}
}

// sendLate sends a copy of pkt after a random delay of up to p.jitter, as a
// network with that much jitter would (packets may overtake each other). The
// delay counts in the mouth-to-ear figure, like network delay does.
func (p *pacer) sendLate(c *caller, pkt []byte) {
	b := append([]byte(nil), pkt...)
	d := time.Duration(p.rnd.Int64N(int64(p.jitter) + 1))
	time.AfterFunc(d, func() { _, _ = c.conn.WriteToUDP(b, c.remote) })
}

func (p *pacer) stop() {
	select {
	case <-p.quit:
	default:
		close(p.quit)
	}
	<-p.done
}
