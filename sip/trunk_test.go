package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

func TestTrunkBySource(t *testing.T) {
	carrier := Trunk{Name: "carrier", Sources: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/28"), netip.MustParsePrefix("2001:db8::/64")}}
	pbx := Trunk{Name: "pbx", Sources: []netip.Prefix{netip.MustParsePrefix("198.51.100.7/32")}, Username: "pbx", Password: "pw"}
	tests := []struct {
		name     string
		cfg      Config
		addr     string
		want     string // trunk name, "" when refused
		wantDrop bool
	}{
		{"in cidr", Config{Trunks: []Trunk{carrier, pbx}}, "192.0.2.14", "carrier", false},
		{"outside cidr", Config{Trunks: []Trunk{carrier, pbx}}, "192.0.2.16", "", false},
		{"v6 in cidr", Config{Trunks: []Trunk{carrier}}, "2001:db8::5060", "carrier", false},
		{"v4-mapped", Config{Trunks: []Trunk{carrier}}, "::ffff:192.0.2.1", "carrier", false},
		{"host trunk", Config{Trunks: []Trunk{carrier, pbx}}, "198.51.100.7", "pbx", false},
		{"loopback trusted by default", Config{}, "127.0.0.1", loopbackTrunk, false},
		{"loopback v6", Config{}, "::1", loopbackTrunk, false},
		{"loopback refused", Config{RefuseLoopback: true}, "127.0.0.1", "", false},
		{"unknown dropped", Config{Trunks: []Trunk{carrier}, DropUnknown: true}, "203.0.113.9", "", true},
		{"known not dropped", Config{Trunks: []Trunk{carrier}, DropUnknown: true}, "192.0.2.1", "carrier", false},
		{"no drop with password-only trunk", Config{Trunks: []Trunk{{Name: "roam", Username: "u", Password: "p"}}, DropUnknown: true}, "203.0.113.9", "", false},
	}
	for _, tt := range tests {
		tab := newTrunkTable(tt.cfg)
		addr := netip.MustParseAddr(tt.addr)
		tr, ok := tab.bySource(addr)
		if ok != (tt.want != "") || tr.Name != tt.want {
			t.Errorf("%s: bySource(%s) = %q, %v; want %q", tt.name, tt.addr, tr.Name, ok, tt.want)
		}
		if got := tab.mayDrop(addr); got != tt.wantDrop {
			t.Errorf("%s: mayDrop(%s) = %v, want %v", tt.name, tt.addr, got, tt.wantDrop)
		}
	}
}

func TestNonces(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	n := newNonces(func() time.Time { return now })
	other := newNonces(func() time.Time { return now })
	nonce := n.issue()
	if !n.valid(nonce) {
		t.Errorf("fresh nonce not valid, want valid")
	}
	if other.valid(nonce) {
		t.Errorf("nonce of another key valid, want invalid")
	}
	if n.valid(nonce[:len(nonce)-2]+"AA") || n.valid("") || n.valid("!!!") {
		t.Errorf("tampered nonce valid, want invalid")
	}
	now = now.Add(nonceLifetime + time.Second)
	if n.valid(nonce) {
		t.Errorf("nonce valid after %v, want expired", nonceLifetime)
	}
}

func localTrunk(name string) Trunk {
	return Trunk{Name: name, Sources: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
}

// inviteStatus places a call and returns the final status code (200 when
// answered, after which it hangs up) or 0 when nothing came back in time.
func inviteStatus(t *testing.T, p *phone, opts sipgo.AnswerOptions, wait time.Duration) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	dlg, err := p.invite(ctx, openNumber, opts)
	var resErr *sipgo.ErrDialogResponse
	switch {
	case err == nil:
		if err := dlg.Ack(ctx); err != nil {
			t.Fatalf("ack: %v", err)
		}
		p.dlg = dlg
		p.hangup()
		return 200
	case errors.As(err, &resErr):
		return resErr.Res.StatusCode
	case errors.Is(err, context.DeadlineExceeded):
		return 0
	}
	t.Fatalf("invite: %v", err)
	return -1
}

func optionsStatus(t *testing.T, p *phone, wait time.Duration) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: p.server.IP.String(), Port: p.server.Port})
	client, err := sipgo.NewClient(p.ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Do(ctx, req)
	if errors.Is(err, context.DeadlineExceeded) {
		return 0
	}
	if err != nil {
		t.Fatalf("options: %v", err)
	}
	return res.StatusCode
}

// Who may call: configured trunks (and loopback unless refused); others get
// 403, or silence in drop mode; trunks with a password must pass a 407.
func TestTrunkAdmission(t *testing.T) {
	withPW := localTrunk("pbx")
	withPW.Username, withPW.Password = "pbx-user", "s3cret"
	tests := []struct {
		name        string
		cfg         Config
		opts        sipgo.AnswerOptions
		wantInvite  int
		wantOptions int
	}{
		{"loopback trusted by default", Config{}, sipgo.AnswerOptions{}, 200, 200},
		{"unknown source refused", Config{RefuseLoopback: true}, sipgo.AnswerOptions{}, 403, 403},
		{"listed trunk", Config{RefuseLoopback: true, Trunks: []Trunk{localTrunk("carrier")}}, sipgo.AnswerOptions{}, 200, 200},
		{"password trunk without credentials", Config{RefuseLoopback: true, Trunks: []Trunk{withPW}}, sipgo.AnswerOptions{}, 407, 200},
		{"password trunk, wrong password", Config{RefuseLoopback: true, Trunks: []Trunk{withPW}},
			sipgo.AnswerOptions{Username: "pbx-user", Password: "guess"}, 407, 200},
		{"password trunk, right password", Config{RefuseLoopback: true, Trunks: []Trunk{withPW}},
			sipgo.AnswerOptions{Username: "pbx-user", Password: "s3cret"}, 200, 200},
		{"password-only trunk from anywhere", Config{RefuseLoopback: true, Trunks: []Trunk{{Name: "roam", Username: "roam", Password: "pw"}}},
			sipgo.AnswerOptions{Username: "roam", Password: "pw"}, 200, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := startServer(t, tt.cfg)
			p := newPhone(t, env.srv.UDPAddr())
			if got := inviteStatus(t, p, tt.opts, 5*time.Second); got != tt.wantInvite {
				t.Errorf("INVITE: got %d, want %d", got, tt.wantInvite)
			}
			if got := optionsStatus(t, p, 5*time.Second); got != tt.wantOptions {
				t.Errorf("OPTIONS: got %d, want %d", got, tt.wantOptions)
			}
		})
	}
}

// udpRequest is a minimal request from a socket at src.
func udpRequest(method string, src *net.UDPConn, dst *net.UDPAddr, callID string) []byte {
	la := src.LocalAddr().(*net.UDPAddr)
	return []byte(fmt.Sprintf("%s sip:%s@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\n"+
		"From: <sip:scanner@%s>;tag=1\r\nTo: <sip:%s@%s>\r\nCall-ID: %s\r\nCSeq: 1 %s\r\n"+
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		method, openNumber, dst, la, callID, la.IP, openNumber, dst, callID, method))
}

// In drop mode an unknown source (127.0.0.2 here) gets no answer at all, to
// INVITE or OPTIONS, while a trunk (127.0.0.1) is served.
func TestTrunkDropUnknown(t *testing.T) {
	env := startServer(t, Config{RefuseLoopback: true, DropUnknown: true, Trunks: []Trunk{localTrunk("carrier")}})
	dst := env.srv.UDPAddr()
	scanner, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Skipf("cannot bind 127.0.0.2: %v", err)
	}
	defer scanner.Close()
	trunk := loopbackUDP(t)
	for i, m := range []string{"INVITE", "OPTIONS"} {
		if _, err := scanner.WriteToUDP(udpRequest(m, scanner, dst, fmt.Sprint("scan", i)), dst); err != nil {
			t.Fatal(err)
		}
	}
	// The server reads its socket in order: once the trunk's OPTIONS is
	// answered, the scanner's requests have been read (and dropped).
	if _, err := trunk.WriteToUDP(udpRequest("OPTIONS", trunk, dst, "trunk1"), dst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	_ = trunk.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := trunk.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
		t.Fatalf("trunk OPTIONS: got %q (%v), want SIP/2.0 200", buf[:n], err)
	}
	// Nothing should come; a short read deadline is the only way to show it.
	_ = scanner.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := scanner.Read(buf); err == nil {
		t.Errorf("scanner got %q, want no answer", buf[:n])
	}
}

// Without drop mode the unknown source gets a cheap 403 and no 100 Trying.
func TestTrunkRefuse403(t *testing.T) {
	env := startServer(t, Config{Trunks: []Trunk{localTrunk("carrier")}, RefuseLoopback: true})
	dst := env.srv.UDPAddr()
	scanner, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Skipf("cannot bind 127.0.0.2: %v", err)
	}
	defer scanner.Close()
	if _, err := scanner.WriteToUDP(udpRequest("INVITE", scanner, dst, "scan403"), dst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	_ = scanner.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := scanner.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 403") {
		t.Fatalf("got %q (%v), want SIP/2.0 403 first", buf[:n], err)
	}
}

// waitSlotsFree waits until no call holds a slot (the call goroutines have
// returned), polling the server's counters.
func waitSlotsFree(t *testing.T, s *Server) {
	t.Helper()
	deadline := time.Now().Add(testWaitLong)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		n := s.slots[""]
		s.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("call slots never freed")
}

// Beyond the concurrent call limit (total or per trunk) INVITEs get 503;
// a slot is free again after a call ends.
func TestCallLimits(t *testing.T) {
	perTrunk := localTrunk("carrier")
	perTrunk.MaxCalls = 1
	for _, cfg := range []Config{
		{MaxCalls: 1},
		{RefuseLoopback: true, Trunks: []Trunk{perTrunk}},
	} {
		env := startServer(t, cfg)
		first := newPhone(t, env.srv.UDPAddr())
		first.call(openNumber)
		j := env.waitJoin(t)
		second := newPhone(t, env.srv.UDPAddr())
		if got := inviteStatus(t, second, sipgo.AnswerOptions{}, 5*time.Second); got != 503 {
			t.Errorf("%+v: second call got %d, want 503", cfg, got)
		}
		first.hangup()
		waitClosed(t, j.member.left, "Leave")
		waitSlotsFree(t, env.srv)
		if got := inviteStatus(t, second, sipgo.AnswerOptions{}, 5*time.Second); got != 200 {
			t.Errorf("%+v: call after the first ended got %d, want 200", cfg, got)
		}
	}
}
