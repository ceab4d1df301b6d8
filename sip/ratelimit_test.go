package sip

import (
	"net/netip"
	"testing"
	"time"
)

// fakeClock is a hand-driven clock for the limiter.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func testLimiter(cfg RateLimit, trunk string) (*limiter, *fakeClock) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	tr := netip.MustParseAddr(trunk)
	return newLimiter(cfg, func(a netip.Addr) bool { return a == tr }, clk.now), clk
}

// sendN counts n packets from addr at the same instant and returns how
// many were allowed.
func sendN(l *limiter, addr netip.Addr, n int) int {
	ok := 0
	for range n {
		if l.allow(addr) {
			ok++
		}
	}
	return ok
}

func TestLimiterBurstRateAndBan(t *testing.T) {
	l, clk := testLimiter(RateLimit{Rate: 10, Burst: 5, BanAfter: 3, BanFor: time.Minute, MaxBan: 4 * time.Minute}, "192.0.2.1")
	src := netip.MustParseAddr("198.51.100.7")

	if got := sendN(l, src, 5); got != 5 {
		t.Fatalf("burst: %d of 5 allowed, want 5", got)
	}
	if got := sendN(l, src, 2); got != 0 {
		t.Fatalf("over the burst: %d of 2 allowed, want 0", got)
	}
	clk.advance(100 * time.Millisecond) // one token at 10/s
	if got := sendN(l, src, 1); got != 1 {
		t.Fatalf("after 100 ms: %d of 1 allowed, want 1", got)
	}
	if got := sendN(l, src, 1); got != 0 { // third strike: banned
		t.Fatalf("third strike allowed")
	}
	st := l.stats()
	if st.Bans != 1 || st.ActiveBans != 1 || st.Limited != 3 {
		t.Fatalf("stats %+v, want 1 ban, 1 active, 3 limited", st)
	}
	clk.advance(59 * time.Second) // bucket full again, but still banned
	if got := sendN(l, src, 1); got != 0 {
		t.Fatalf("banned source allowed")
	}
	clk.advance(2 * time.Second)
	if got := sendN(l, src, 5); got != 5 {
		t.Fatalf("after the ban: %d of 5 allowed, want 5", got)
	}
	// The second ban lasts twice as long.
	sendN(l, src, 3)
	if st := l.stats(); st.Bans != 2 {
		t.Fatalf("bans %d, want 2", st.Bans)
	}
	clk.advance(time.Minute + time.Second)
	if l.allow(src) {
		t.Fatalf("second ban ended after one minute, want two")
	}
	clk.advance(time.Minute)
	if !l.allow(src) {
		t.Fatalf("second ban still on after two minutes")
	}
	// Other sources were never affected.
	if got := sendN(l, netip.MustParseAddr("198.51.100.8"), 5); got != 5 {
		t.Errorf("other source: %d of 5 allowed, want 5", got)
	}
}

func TestLimiterNeverBansTrunks(t *testing.T) {
	l, clk := testLimiter(RateLimit{Rate: 1, Burst: 1, TrunkRate: 10, TrunkBurst: 10, BanAfter: 2}, "192.0.2.1")
	trunk := netip.MustParseAddr("192.0.2.1")
	if got := sendN(l, trunk, 100); got != 10 {
		t.Fatalf("trunk burst: %d of 100 allowed, want 10", got)
	}
	if st := l.stats(); st.Bans != 0 || st.Limited != 90 {
		t.Fatalf("stats %+v, want no ban and 90 limited", st)
	}
	clk.advance(time.Second)
	if got := sendN(l, trunk, 10); got != 10 {
		t.Errorf("trunk after 1 s: %d of 10 allowed, want 10", got)
	}
}

func TestLimiterTableIsBounded(t *testing.T) {
	l, _ := testLimiter(RateLimit{Rate: 1, Burst: 1, BanAfter: 1, MaxSources: 100}, "192.0.2.1")
	banned := netip.MustParseAddr("203.0.113.1")
	sendN(l, banned, 2)
	for i := range 1000 {
		l.allow(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
		if i%10 == 0 {
			l.allow(banned) // seen recently: stays in the table, stays banned
		}
	}
	st := l.stats()
	if st.Sources > 100 {
		t.Errorf("%d sources in the table, want at most 100", st.Sources)
	}
	if l.allow(banned) {
		t.Errorf("a recently seen banned source was evicted")
	}
}

func TestLimiterIPv6CountsPer64(t *testing.T) {
	l, _ := testLimiter(RateLimit{Rate: 1, Burst: 3, BanAfter: 100}, "192.0.2.1")
	ok := 0
	for i := range 10 {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)})
		if l.allow(a) {
			ok++
		}
	}
	if ok != 3 {
		t.Errorf("%d packets from one /64 allowed, want 3", ok)
	}
}

func TestLimiterOff(t *testing.T) {
	l, _ := testLimiter(RateLimit{Off: true, Rate: 1, Burst: 1}, "192.0.2.1")
	if got := sendN(l, netip.MustParseAddr("198.51.100.7"), 50); got != 50 {
		t.Errorf("limit off: %d of 50 allowed, want 50", got)
	}
}
