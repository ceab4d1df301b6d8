package sip

import (
	"container/list"
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// RateLimit limits what one source address may send, fail2ban-style: a
// token bucket per source drops packets over the rate, and a source that
// is no trunk and keeps going over it is banned for a while (every packet
// dropped before sipgo parses it). Trunks are limited but never banned.
// IPv6 sources count per /64, since one host can use a whole /64.
// Zero fields mean the defaults of config.SIPRateLimit.
type RateLimit struct {
	Off        bool          // no limit at all
	Rate       float64       // packets (UDP) or connections (TCP) per second from a non-trunk source
	Burst      int           // bucket size of a non-trunk source
	TrunkRate  float64       // per second from a trunk address
	TrunkBurst int           // bucket size of a trunk address
	BanAfter   int           // packets over the limit that earn a ban
	BanFor     time.Duration // first ban; doubles per further ban, up to MaxBan
	MaxBan     time.Duration
	MaxSources int // sources remembered; the least recently seen is forgotten first
}

func (r RateLimit) withDefaults() RateLimit {
	def := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	defInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&r.Rate, 20)
	def(&r.TrunkRate, 500)
	defInt(&r.Burst, 40)
	defInt(&r.TrunkBurst, 1000)
	defInt(&r.BanAfter, 20)
	defInt(&r.MaxSources, 10000)
	if r.BanFor == 0 {
		r.BanFor = 10 * time.Minute
	}
	if r.MaxBan == 0 {
		r.MaxBan = 24 * time.Hour
	}
	return r
}

// RateLimitStats are the limiter's counters, read by the metrics exporter.
type RateLimitStats struct {
	Limited    uint64 // packets or connections dropped over the rate (bans excluded)
	Banned     uint64 // packets or connections dropped because their source is banned
	Bans       uint64 // bans imposed
	ActiveBans int    // sources banned right now
	Sources    int    // sources in the table
}

// limiter holds the per-source buckets. Safe for concurrent use; the clock
// is injected.
type limiter struct {
	cfg     RateLimit
	isTrunk func(netip.Addr) bool
	now     func() time.Time

	limited, banned, bans atomic.Uint64

	mu      sync.Mutex
	sources map[netip.Addr]*list.Element // of *source
	lru     list.List                    // front: most recently seen
}

type source struct {
	key      netip.Addr
	tokens   float64
	last     time.Time // tokens were last refilled then
	strikes  int       // packets over the limit since the bucket was last full
	bans     int       // bans so far; each doubles the next
	until    time.Time // banned until then
	banEnded time.Time // when a ban is over, bans is kept this long (MaxBan)
}

func newLimiter(cfg RateLimit, isTrunk func(netip.Addr) bool, now func() time.Time) *limiter {
	return &limiter{cfg: cfg.withDefaults(), isTrunk: isTrunk, now: now,
		sources: make(map[netip.Addr]*list.Element)}
}

// sourceKey is the address a packet counts against: IPv4 as is, IPv6 by /64.
func sourceKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// allow counts one packet from addr and reports whether it may be read.
func (l *limiter) allow(addr netip.Addr) bool {
	if l.cfg.Off || !addr.IsValid() {
		return true
	}
	trunk := l.isTrunk(addr.Unmap())
	rate, burst := l.cfg.Rate, l.cfg.Burst
	if trunk {
		rate, burst = l.cfg.TrunkRate, l.cfg.TrunkBurst
	}
	now := l.now()
	key := sourceKey(addr)

	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.lookup(key, now, float64(burst))
	if !trunk && now.Before(s.until) {
		l.banned.Add(1)
		return false
	}
	s.tokens = min(float64(burst), s.tokens+now.Sub(s.last).Seconds()*rate)
	s.last = now
	if s.tokens >= float64(burst) {
		s.strikes = 0
	}
	if s.tokens >= 1 {
		s.tokens--
		return true
	}
	l.limited.Add(1)
	if trunk {
		return false
	}
	s.strikes++
	if s.strikes >= l.cfg.BanAfter {
		if !s.banEnded.IsZero() && now.After(s.banEnded.Add(l.cfg.MaxBan)) {
			s.bans = 0 // well behaved for a long time: start again
		}
		d := min(l.cfg.BanFor<<min(s.bans, 16), l.cfg.MaxBan)
		s.until = now.Add(d)
		s.banEnded = s.until
		s.bans++
		s.strikes = 0
		l.bans.Add(1)
	}
	return false
}

// lookup returns key's entry, creating it with a full bucket and marking
// it most recently seen. l.mu is held.
func (l *limiter) lookup(key netip.Addr, now time.Time, burst float64) *source {
	if e, ok := l.sources[key]; ok {
		l.lru.MoveToFront(e)
		return e.Value.(*source)
	}
	for len(l.sources) >= l.cfg.MaxSources {
		old := l.lru.Back()
		l.lru.Remove(old)
		delete(l.sources, old.Value.(*source).key)
	}
	s := &source{key: key, tokens: burst, last: now}
	l.sources[key] = l.lru.PushFront(s)
	return s
}

// stats returns the counters and counts the sources banned now.
func (l *limiter) stats() RateLimitStats {
	st := RateLimitStats{Limited: l.limited.Load(), Banned: l.banned.Load(), Bans: l.bans.Load()}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	st.Sources = len(l.sources)
	for _, e := range l.sources {
		if now.Before(e.Value.(*source).until) {
			st.ActiveBans++
		}
	}
	return st
}

// RateLimitStats returns the per-source rate limiter's counters.
func (s *Server) RateLimitStats() RateLimitStats { return s.limit.stats() }

// limitedConn drops datagrams the limiter refuses before sipgo reads them.
type limitedConn struct {
	net.PacketConn
	l *limiter
}

// ReadFrom returns the next datagram the limiter allows.
func (c limitedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil {
			return n, addr, err
		}
		if ua, ok := addr.(*net.UDPAddr); ok && !c.l.allow(ua.AddrPort().Addr()) {
			continue
		}
		return n, addr, nil
	}
}

// limitedListener closes connections the limiter refuses as they arrive.
type limitedListener struct {
	net.Listener
	l *limiter
}

// Accept returns the next connection the limiter allows.
func (ln limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return c, err
		}
		if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok && !ln.l.allow(ta.AddrPort().Addr()) {
			c.Close()
			continue
		}
		return c, nil
	}
}

// limitUDP and limitTCP wrap the listeners handed to sipgo; unknown
// sources dropped by filterConn never reach the limiter's table.
func (s *Server) limitUDP(c net.PacketConn) net.PacketConn { return limitedConn{c, s.limit} }

func (s *Server) limitTCP(l net.Listener) net.Listener { return limitedListener{l, s.limit} }

// newServerLimiter builds the limiter for s's trunks.
func (s *Server) newServerLimiter() *limiter {
	return newLimiter(s.cfg.RateLimit, func(a netip.Addr) bool {
		_, ok := s.trunks.bySource(a)
		return ok
	}, time.Now)
}

// persistPINThrottles keeps the PIN failure counts (per caller ID and
// trunk, per trunk) in the configured store, so a restart does not give a
// PIN guesser fresh tries.
func (s *Server) persistPINThrottles() error {
	if s.cfg.PINFailures == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.callerThrottle.Persist(ctx, s.cfg.PINFailures, "caller", s.log); err != nil {
		return fmt.Errorf("sip: pin failures: %w", err)
	}
	if err := s.trunkThrottle.Persist(ctx, s.cfg.PINFailures, "trunk", s.log); err != nil {
		return fmt.Errorf("sip: pin failures: %w", err)
	}
	return nil
}
