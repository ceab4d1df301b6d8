package sip

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// floodMessages are what a scanner sends: INVITEs, OPTIONS, REGISTERs and
// garbage, from a source that is no trunk.
func floodMessage(i int, port int) []byte {
	switch i % 4 {
	case 0:
		return []byte(strings.ReplaceAll(rawRequest("INVITE", fmt.Sprintf("flood-%d", i)), "PORT", fmt.Sprint(port)))
	case 1:
		return []byte(strings.ReplaceAll(rawRequest("OPTIONS", fmt.Sprintf("flood-%d", i)), "PORT", fmt.Sprint(port)))
	case 2:
		return []byte(strings.ReplaceAll(rawRequest("REGISTER", fmt.Sprintf("flood-%d", i)), "PORT", fmt.Sprint(port)))
	}
	return []byte(fmt.Sprintf("\x00\xffgarbage %d SIP/2.0\r\n\r\n", i))
}

// flooder sends from 127.0.0.2 (no trunk) and counts every datagram it gets back.
type flooder struct {
	conn     *net.UDPConn
	sent     atomic.Int64
	received atomic.Int64
	wg       sync.WaitGroup

	mu       sync.Mutex
	answered map[string]bool // Call-IDs of the requests answered
}

func (f *flooder) answeredCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.answered)
}

func newFlooder(t *testing.T) *flooder {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatalf("bind 127.0.0.2: %v", err)
	}
	f := &flooder{conn: conn, answered: make(map[string]bool)}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		buf := make([]byte, 65536)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			f.received.Add(1)
			for _, line := range strings.Split(string(buf[:n]), "\r\n") {
				if id, ok := strings.CutPrefix(line, "Call-ID: "); ok {
					f.mu.Lock()
					f.answered[id] = true
					f.mu.Unlock()
				}
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); f.wg.Wait() })
	return f
}

// run sends at least minimum requests to server, and keeps going until
// stop is closed, at most limit in all.
func (f *flooder) run(server *net.UDPAddr, minimum, limit int, stop <-chan struct{}, started chan<- struct{}) {
	port := f.conn.LocalAddr().(*net.UDPAddr).Port
	for i := 0; i < limit; i++ {
		if i == 1000 {
			close(started)
		}
		if i >= minimum {
			select {
			case <-stop:
				return
			default:
			}
		}
		if _, err := f.conn.WriteToUDP(floodMessage(i, port), server); err == nil {
			f.sent.Add(1)
		}
	}
}

// optionsAnswered sends OPTIONS from the trunk (127.0.0.1) until one is
// answered 200, at most tries times.
func optionsAnswered(t *testing.T, server *net.UDPAddr, tries int) bool {
	t.Helper()
	for i := range tries {
		if line := rawExchange(t, server, rawRequest("OPTIONS", fmt.Sprintf("trunk-ping-%d", i)), 2*time.Second); strings.HasPrefix(line, "SIP/2.0 200") {
			return true
		}
	}
	return false
}

// floodConfig: only 127.0.0.1 is a trunk, so the flood from 127.0.0.2 is
// from an unknown source.
func floodConfig(drop bool) Config {
	return Config{RefuseLoopback: true, DropUnknown: drop,
		Trunks: []Trunk{{Name: "carrier", Sources: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}}}
}

// floodDuringCall floods the server from a non-trunk source while a caller
// on the trunk dials in and the trunk pings with OPTIONS; it returns the
// flooder once the call joined, the ping was answered and the flood is over.
func floodDuringCall(t *testing.T, env *testEnv) *flooder {
	t.Helper()
	f := newFlooder(t)
	stop, started, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() { defer close(done); f.run(env.srv.UDPAddr(), 10_000, 200_000, stop, started) }()
	waitClosed(t, started, "the flood to start")

	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	j := env.waitJoin(t)
	if j.slug != "lobby" {
		t.Errorf("joined %q, want lobby", j.slug)
	}
	if !optionsAnswered(t, env.srv.UDPAddr(), 5) {
		t.Errorf("trunk OPTIONS during the flood: no 200 in 5 tries")
	}
	close(stop)
	waitClosed(t, done, "the flood to end")
	if f.sent.Load() < 10_000 {
		t.Fatalf("flood sent %d requests, want at least 10000", f.sent.Load())
	}
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
	// Everything the flood sent was read before this OPTIONS (one socket,
	// read in order); answers to it are given by now or never.
	if !optionsAnswered(t, env.srv.UDPAddr(), 5) {
		t.Errorf("trunk OPTIONS after the flood: no 200 in 5 tries")
	}
	return f
}

// With drop_unknown on, a flood of 10,000 requests from an unknown source
// gets no answer at all, and the trunk's call and pings go through.
func TestFloodDropUnknown(t *testing.T) {
	env := startServer(t, floodConfig(true))
	f := floodDuringCall(t, env)
	if n := f.received.Load(); n != 0 {
		t.Errorf("flooder received %d datagrams, want 0", n)
	}
	t.Logf("flood: %d sent, %d answered", f.sent.Load(), f.received.Load())
}

// With drop_unknown off, the flooder is banned after its burst: a handful
// of its 10,000 requests are answered (403/405, retransmitted since the
// flooder never ACKs), and the call goes through.
func TestFloodBansUnknownSource(t *testing.T) {
	cfg := floodConfig(false)
	cfg.RateLimit = RateLimit{Rate: 20, Burst: 40, BanAfter: 20, BanFor: time.Hour}
	env := startServer(t, cfg)
	f := floodDuringCall(t, env)
	st := env.srv.RateLimitStats()
	if st.Bans < 1 || st.ActiveBans != 1 {
		t.Errorf("stats %+v, want at least one ban and one active", st)
	}
	// Burst plus what the bucket refills while the ban is being earned:
	// far below 100, however slow the machine.
	if n := f.answeredCount(); n > 100 {
		t.Errorf("%d flood requests were answered, want at most 100", n)
	}
	// The kernel may drop part of the flood before it is read (a full
	// socket buffer), so only the order of magnitude is certain.
	if st.Banned < st.Limited {
		t.Errorf("%d packets dropped as banned, %d over the limit; want the ban to take most", st.Banned, st.Limited)
	}
	t.Logf("flood: %d sent, %d answered (%d datagrams), stats %+v", f.sent.Load(), f.answeredCount(), f.received.Load(), st)
}
