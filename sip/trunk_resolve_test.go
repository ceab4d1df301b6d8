package sip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// fakeResolver answers lookups from memory, so that no test ever sends a
// DNS query: a name resolves once it is in addrs.
type fakeResolver struct {
	mu      sync.Mutex
	addrs   map[string]netip.Addr
	lookups map[string]int
	asked   chan string // each lookup's host, when not full
}

func newFakeResolver() *fakeResolver {
	return &fakeResolver{addrs: map[string]netip.Addr{}, lookups: map[string]int{}, asked: make(chan string, 64)}
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	r.lookups[host]++
	ip, ok := r.addrs[host]
	r.mu.Unlock()
	select {
	case r.asked <- host:
	default:
	}
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return []netip.Addr{ip}, nil
}

func (r *fakeResolver) set(host string, ip netip.Addr) {
	r.mu.Lock()
	r.addrs[host] = ip
	r.mu.Unlock()
}

func (r *fakeResolver) count(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lookups[host]
}

// waitLookup waits for the next lookup of the resolver.
func (r *fakeResolver) waitLookup(t *testing.T) {
	t.Helper()
	select {
	case <-r.asked:
	case <-time.After(testWaitLong):
		t.Fatal("no registrar lookup within the wait")
	}
}

// loopbackRegistrar is a registrar on 127.0.0.1 that accepts every
// REGISTER for a minute; it returns its UDP address.
func loopbackRegistrar(t *testing.T) *net.UDPAddr {
	t.Helper()
	return registrarOn(t, "127.0.0.1:0", 60, nil)
}

// registrarOn is a registrar on addr that accepts every REGISTER for
// expires seconds and counts them on seen (when not nil).
func registrarOn(t *testing.T, addr string, expires int, seen chan<- struct{}) *net.UDPAddr {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
		_ = tx.Respond(res)
		if seen != nil {
			select {
			case seen <- struct{}{}:
			default:
			}
		}
	})
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeUDP(conn) }()
	t.Cleanup(func() {
		conn.Close()
		ua.Close()
		<-done
	})
	return conn.LocalAddr().(*net.UDPAddr)
}

// twoRegistrars starts registrars on 127.0.0.1 and 127.0.0.2 at the same
// port (a carrier's registrar moving to a new address).
func twoRegistrars(t *testing.T, expires int, seenA, seenB chan<- struct{}) (port int) {
	t.Helper()
	for range 20 {
		a := registrarOn(t, "127.0.0.1:0", expires, seenA)
		c, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.2", strconv.Itoa(a.Port)))
		if err != nil {
			continue // taken on 127.0.0.2: try another port
		}
		c.Close()
		registrarOn(t, net.JoinHostPort("127.0.0.2", strconv.Itoa(a.Port)), expires, seenB)
		return a.Port
	}
	t.Fatal("no port free on both 127.0.0.1 and 127.0.0.2")
	return 0
}

// A stored registration trunk whose registrar does not resolve is kept in
// the trunk set (not left out and re-resolved at every reload): its
// registration goroutine looks the name up with the registration back-off,
// growing from one failure to the next, and its state carries the error
// and the time of the next try. Once the name resolves, the trunk
// registers and the registrar's address becomes a source of the trunk.
func TestRegistrarLookupBacksOff(t *testing.T) {
	const host = "registrar.carrier.invalid"
	res := newFakeResolver()
	var mu sync.Mutex
	var steps []int
	backoff := func(n int) time.Duration {
		mu.Lock()
		steps = append(steps, n)
		mu.Unlock()
		return time.Duration(n) * 20 * time.Millisecond
	}
	reg := loopbackRegistrar(t) // first, so that it outlives the server's unregistration
	env := startServer(t, Config{RefuseLoopback: true, Resolver: res, registerBackoff: backoff})
	trunk := Trunk{Name: "carrier", Register: &Registration{Registrar: net.JoinHostPort(host, strconv.Itoa(reg.Port)),
		Username: "dialroom", Password: "pw", Expires: time.Minute}}
	if err := env.srv.ReplaceTrunks([]Trunk{trunk}); err != nil {
		t.Fatalf("ReplaceTrunks: %v, want the trunk kept while its registrar does not resolve", err)
	}
	for res.count(host) < 4 {
		res.waitLookup(t)
	}
	st := waitTrunkState(t, env.srv, "carrier", func(st TrunkState) bool { return st.LastError != "" })
	if !strings.Contains(st.LastError, "does not resolve") || st.Registered || !st.Retry.After(st.Updated) {
		t.Errorf("state %+v, want not registered, the lookup error and a later retry time", st)
	}
	mu.Lock()
	got := append([]int(nil), steps...)
	mu.Unlock()
	for i, n := range got {
		if n != i+1 {
			t.Fatalf("back-off steps %v, want 1, 2, 3, … (one per failure in a row)", got)
		}
	}
	if _, ok := env.srv.trunks.bySource(netipLoopback()); ok {
		t.Error("127.0.0.1 is a source of the trunk before its registrar resolved")
	}

	res.set(host, netipLoopback())
	waitTrunkState(t, env.srv, "carrier", func(st TrunkState) bool { return st.Registered })
	if tr, ok := env.srv.trunks.bySource(netipLoopback()); !ok || tr.Name != "carrier" {
		t.Errorf("bySource(127.0.0.1) = %q, %v after registering; want the registrar a source of carrier", tr.Name, ok)
	}
	// A reload with the same trunks (the database poll) keeps the
	// registration and its address: no new lookup.
	n := res.count(host)
	for range 5 {
		if err := env.srv.ReplaceTrunks([]Trunk{trunk}); err != nil {
			t.Fatal(err)
		}
	}
	if got := res.count(host); got != n {
		t.Errorf("lookups after 5 unchanged reloads: got %d, want %d", got, n)
	}
	if tr, ok := env.srv.trunks.bySource(netipLoopback()); !ok || tr.Name != "carrier" {
		t.Errorf("bySource(127.0.0.1) = %q, %v after reloads; want carrier", tr.Name, ok)
	}
}

// The registrar's name is looked up before each REGISTER: when it moves
// to another address, the refresh goes there and the new address becomes
// the trunk's source instead of the old one; when the lookup fails later,
// the registration goes on with the last address.
func TestRegistrarMoves(t *testing.T) {
	const host = "sip.carrier.invalid"
	seenA, seenB := make(chan struct{}, 64), make(chan struct{}, 64)
	port := twoRegistrars(t, 1, seenA, seenB) // granted 1 s: a refresh every second
	res := newFakeResolver()
	res.set(host, netip.MustParseAddr("127.0.0.1"))
	env := startServer(t, Config{RefuseLoopback: true, Resolver: res})
	trunk := Trunk{Name: "carrier", Register: &Registration{Registrar: net.JoinHostPort(host, strconv.Itoa(port)),
		Username: "dialroom", Password: "pw", Expires: time.Minute}}
	if err := env.srv.ReplaceTrunks([]Trunk{trunk}); err != nil {
		t.Fatal(err)
	}
	waitSeen := func(ch chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(testWaitLong):
			t.Fatalf("no REGISTER at %s within the wait", what)
		}
	}
	waitSeen(seenA, "127.0.0.1")
	moved := netip.MustParseAddr("127.0.0.2")
	res.set(host, moved)
	waitSeen(seenB, "127.0.0.2 after the move")
	if tr, ok := env.srv.trunks.bySource(moved); !ok || tr.Name != "carrier" {
		t.Errorf("bySource(127.0.0.2) = %q, %v after the move; want carrier", tr.Name, ok)
	}
	if tr, ok := env.srv.trunks.bySource(netipLoopback()); ok {
		t.Errorf("bySource(127.0.0.1) = %q after the move; want no trunk", tr.Name)
	}

	res.mu.Lock()
	delete(res.addrs, host) // DNS fails from now on
	res.mu.Unlock()
	for len(seenB) > 0 {
		<-seenB
	}
	n := res.count(host)
	for res.count(host) < n+2 {
		res.waitLookup(t)
	}
	waitSeen(seenB, "127.0.0.2 while DNS fails")
	if st := waitTrunkState(t, env.srv, "carrier", func(TrunkState) bool { return true }); !st.Registered {
		t.Errorf("state %+v while DNS fails, want still registered", st)
	}
}

// Reloads do not resolve: however often the unchanged trunk set is
// applied while the registrar's name fails, the name is looked up once
// per back-off step (here one step of an hour: once).
func TestRegistrarLookupNotPerReload(t *testing.T) {
	const host = "pbx.example.invalid"
	res := newFakeResolver()
	env := startServer(t, Config{RefuseLoopback: true, Resolver: res,
		registerBackoff: func(int) time.Duration { return time.Hour }})
	trunk := Trunk{Name: "pbx", Register: &Registration{Registrar: host, Username: "u", Password: "p"}}
	for range 20 {
		if err := env.srv.ReplaceTrunks([]Trunk{trunk, localTrunk("other")}); err != nil {
			t.Fatalf("ReplaceTrunks: %v", err)
		}
	}
	res.waitLookup(t)
	st := waitTrunkState(t, env.srv, "pbx", func(st TrunkState) bool { return st.LastError != "" })
	for range 20 {
		if err := env.srv.ReplaceTrunks([]Trunk{trunk, localTrunk("other")}); err != nil {
			t.Fatalf("ReplaceTrunks: %v", err)
		}
	}
	if got := res.count(host); got != 1 {
		t.Errorf("lookups after 40 reloads: got %d, want 1", got)
	}
	if d := st.Retry.Sub(st.Updated); d != time.Hour {
		t.Errorf("next try %v after the failure, want the back-off (1h)", d)
	}
	if got := env.srv.RegistrationTrunks(); len(got) != 1 || got[0] != "pbx" {
		t.Errorf("RegistrationTrunks() = %v, want [pbx]", got)
	}
}

// At start the configuration's registrars must resolve: a typo in the
// file stops the server with a clear error instead of retrying forever.
func TestConfigRegistrarMustResolve(t *testing.T) {
	res := newFakeResolver()
	trunk := Trunk{Name: "carrier", Register: &Registration{Registrar: "typo.invalid", Username: "u", Password: "p"}}
	_, err := New(Config{Listen: "127.0.0.1:0", Resolver: res, Trunks: []Trunk{trunk}}, nil, nil, nil, nil)
	var dnsErr *net.DNSError
	if err == nil || !errors.As(err, &dnsErr) || !strings.Contains(err.Error(), "typo.invalid") {
		t.Errorf("New: got %v, want the lookup error naming the registrar", err)
	}
}

// waitTrunkState waits until trunk name's state satisfies ok.
func waitTrunkState(t *testing.T, s *Server, name string, ok func(TrunkState) bool) TrunkState {
	t.Helper()
	deadline := time.Now().Add(testWaitLong)
	for {
		for _, st := range s.TrunkStates() {
			if st.Name == name && ok(st) {
				return st
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("trunk %s: state %+v never as wanted", name, s.TrunkStates())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
