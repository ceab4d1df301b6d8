package sip

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"dialroom/dialplan"
	"dialroom/mixer"
)

const (
	roomNumber   = "+4940111222" // room "standup", PIN 1234
	openNumber   = "+4940333444" // room "lobby", no PIN
	modNumber    = "+4940555666" // room "board", PIN 1234, moderator PIN 975310
	testWaitLong = 10 * time.Second
)

type testEnv struct {
	srv    *Server
	rooms  *fakeRooms
	bridge *fakeBridge
	done   chan error // Serve's result
}

func startServer(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	return startServerWith(t, cfg, tonePrompts{})
}

// startServerWith is startServer with the given prompts.
func startServerWith(t *testing.T, cfg Config, prompts PromptSource) *testEnv {
	t.Helper()
	hash, err := dialplan.HashPIN("1234")
	if err != nil {
		t.Fatal(err)
	}
	modHash, err := dialplan.HashPIN("975310")
	if err != nil {
		t.Fatal(err)
	}
	rooms := &fakeRooms{cancelled: make(chan struct{}), rooms: map[string]dialplan.Room{
		roomNumber: {ID: 1, Slug: "standup", Lang: "en", PINHash: hash, DialCode: standupCode},
		openNumber: {ID: 2, Slug: "lobby", Lang: "de", DialCode: lobbyCode},
		modNumber:  {ID: 3, Slug: "board", Lang: "en", PINHash: hash, ModPINHash: modHash},
	}, shared: map[string]string{sharedNumber: "en"}}
	bridge := &fakeBridge{joins: make(chan joined, 4)}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	srv, err := New(cfg, rooms, bridge, prompts, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{srv: srv, rooms: rooms, bridge: bridge, done: make(chan error, 1)}
	go func() { env.done <- srv.Serve(context.Background()) }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-env.done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return env
}

func (e *testEnv) waitJoin(t *testing.T) joined {
	t.Helper()
	select {
	case j := <-e.bridge.joins:
		return j
	case <-time.After(testWaitLong):
		t.Fatal("caller never joined the room")
		return joined{}
	}
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(testWaitLong):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// A caller hears the PIN prompt, types the PIN the way sipp does, joins the
// room, is heard there, hears the room, and hangs up.
func TestCallWithPIN(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(roomNumber)
	p.waitLoudAudio(testWaitLong)
	p.sendDTMFLikeSipp("1234#")

	j := env.waitJoin(t)
	if j.slug != "standup" {
		t.Errorf("joined room %q, want %q", j.slug, "standup")
	}
	if !strings.HasPrefix(j.info.ID, "phone-") || len(j.info.ID) <= len("phone-") {
		t.Errorf("participant ID %q, want phone-<random>", j.info.ID)
	}
	if want := "+49 30 ••• 456"; j.info.Label != want {
		t.Errorf("label %q, want %q", j.info.Label, want)
	}
	// The join is reported before the call routes audio to the room:
	// keep talking until the room hears it.
	p.sendToneUntil(j.member.heard, testWaitLong)

	// The mixer's frames go out as RTP continuing the prompt's sequence.
	for range 3 {
		j.leg.WriteAudio(tone(600, mixer.NarrowSamples))
	}
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
	checkContinuity(t, p.packets)

	j.member.mu.Lock()
	defer j.member.mu.Unlock()
	if j.member.badLen != 0 {
		t.Errorf("%d pushed frames had the wrong length, want 0", j.member.badLen)
	}
}

// checkContinuity checks that all RTP the phone got forms one stream:
// sequence +1 and timestamp +160 per packet (loopback loses nothing).
func checkContinuity(t *testing.T, packets chan rtp.Packet) {
	t.Helper()
	var prev *rtp.Packet
	n := 0
	for {
		select {
		case pkt := <-packets:
			if prev != nil {
				if pkt.SequenceNumber != prev.SequenceNumber+1 || pkt.Timestamp != prev.Timestamp+mixer.NarrowSamples || pkt.SSRC != prev.SSRC {
					t.Fatalf("packet %d: seq %d ts %d after seq %d ts %d, want +1 and +160", n,
						pkt.SequenceNumber, pkt.Timestamp, prev.SequenceNumber, prev.Timestamp)
				}
			}
			prev = &pkt
			n++
		default:
			if n < 10 {
				t.Errorf("got %d RTP packets, want at least 10", n)
			}
			return
		}
	}
}

// A room without PIN: welcome, then straight in.
func TestCallWithoutPIN(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	j := env.waitJoin(t)
	if j.slug != "lobby" {
		t.Errorf("joined %q, want lobby", j.slug)
	}
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}

func TestWrongPINThreeTimesHangsUp(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(roomNumber)
	p.waitLoudAudio(testWaitLong)
	p.sendDTMFLikeSipp("9999#")
	p.sendDTMFLikeSipp("1111#")
	p.sendDTMFLikeSipp("4321#")
	p.waitBye(testWaitLong)
	select {
	case j := <-env.bridge.joins:
		t.Fatalf("caller joined %q with a wrong PIN", j.slug)
	default:
	}
}

func TestUnknownNumber404(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := p.invite(ctx, "+4940999999", sipgo.AnswerOptions{})
	var resErr *sipgo.ErrDialogResponse
	if !errors.As(err, &resErr) || resErr.Res.StatusCode != 404 {
		t.Fatalf("got %v, want a 404 response", err)
	}
}

func TestCancelBeforeAnswer487(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	callCtx, hangup := context.WithCancel(ctx)
	dlg, err := p.invite(callCtx, "block", sipgo.AnswerOptions{OnResponse: func(r *sip.Response) error {
		if r.StatusCode == 100 {
			hangup() // the caller gives up while we look the number up
		}
		return nil
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if dlg == nil || dlg.InviteResponse == nil || dlg.InviteResponse.StatusCode != 487 {
		t.Fatalf("final response %v, want 487", dlg.InviteResponse)
	}
	waitClosed(t, env.rooms.cancelled, "the room lookup to be cancelled")
}

func TestRTPTimeoutHangsUp(t *testing.T) {
	env := startServer(t, Config{RTPTimeout: time.Second})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	j := env.waitJoin(t)
	p.waitBye(testWaitLong)
	waitClosed(t, j.member.left, "Leave")
}

func TestCloseHangsUpCalls(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	j := env.waitJoin(t)
	if err := env.srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close waits for the call goroutine, so Leave has already happened.
	select {
	case <-j.member.left:
	default:
		t.Fatal("Close returned before the call left the room")
	}
	p.waitBye(testWaitLong)
	if err := env.srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// rawExchange sends one datagram and returns the first response line that
// arrives for it, or "" after the timeout.
func rawExchange(t *testing.T, server *net.UDPAddr, msg string, timeout time.Duration) string {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg = strings.ReplaceAll(msg, "PORT", fmt.Sprint(conn.LocalAddr().(*net.UDPAddr).Port))
	if _, err := conn.WriteToUDP([]byte(msg), server); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return ""
		}
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		if !strings.HasPrefix(line, "SIP/2.0 1") {
			return line
		}
	}
}

func rawRequest(method, callID string, extra ...string) string {
	lines := []string{
		method + " sip:" + openNumber + "@127.0.0.1 SIP/2.0",
		"Via: SIP/2.0/UDP 127.0.0.1:PORT;branch=z9hG4bK-" + callID + ";rport",
		"From: <sip:+4930123456@127.0.0.1>;tag=t1",
		"To: <sip:" + openNumber + "@127.0.0.1>",
		"CSeq: 1 " + method,
		"Max-Forwards: 70",
		"Contact: <sip:caller@127.0.0.1:PORT>",
	}
	if callID != "" {
		lines = append(lines, "Call-ID: "+callID)
	}
	lines = append(lines, extra...)
	return strings.Join(lines, "\r\n") + "\r\nContent-Length: 0\r\n\r\n"
}

func TestHeaderValidation(t *testing.T) {
	env := startServer(t, Config{})
	addr := env.srv.UDPAddr()
	tests := []struct {
		name string
		msg  string
		want string
	}{
		{"INVITE without Call-ID", rawRequest("INVITE", ""), "SIP/2.0 400"},
		{"OPTIONS without Call-ID", rawRequest("OPTIONS", ""), "SIP/2.0 400"},
		{"OPTIONS", rawRequest("OPTIONS", "opt1"), "SIP/2.0 200"},
		{"OPTIONS without Max-Forwards", strings.Replace(rawRequest("OPTIONS", "opt2"), "Max-Forwards: 70\r\n", "", 1), "SIP/2.0 200"},
		{"unknown method", rawRequest("PUBLISH", "pub1"), "SIP/2.0 405"},
		{"BYE outside a dialog", rawRequest("BYE", "bye1"), "SIP/2.0 481"},
		{"INVITE with a too short Session-Expires", rawRequest("INVITE", "inv1", "Session-Expires: 30"), "SIP/2.0 422"},
		{"OPTIONS after the bad ones", rawRequest("OPTIONS", "opt3"), "SIP/2.0 200"},
	}
	for _, tt := range tests {
		if got := rawExchange(t, addr, tt.msg, 3*time.Second); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestOptionsOverTCP(t *testing.T) {
	env := startServer(t, Config{})
	conn, err := net.Dial("tcp", env.srv.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	port := conn.LocalAddr().(*net.TCPAddr).Port
	msg := strings.ReplaceAll(rawRequest("OPTIONS", "tcp1"), "PORT", fmt.Sprint(port))
	msg = strings.Replace(msg, "SIP/2.0/UDP", "SIP/2.0/TCP", 1)
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("got %q (%v), want SIP/2.0 200", line, err)
	}
}

// The server must survive the 49 RFC 4475 torture messages, sent in order.
func TestRFC4475Torture(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "rfc4475")
	manifest, err := os.ReadFile(filepath.Join(dir, "manifest.tsv"))
	if err != nil {
		t.Skipf("RFC 4475 messages not available: %v", err)
	}
	env := startServer(t, Config{})
	conn, err := net.DialUDP("udp", nil, env.srv.UDPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sent := 0
	for _, line := range strings.Split(string(manifest), "\n") {
		name, _, _ := strings.Cut(line, "\t")
		if name == "" || strings.HasPrefix(name, "#") {
			continue
		}
		msg, err := os.ReadFile(filepath.Join(dir, "msgs", name+".dat"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := conn.Write(msg); err != nil {
			t.Fatalf("send %s: %v", name, err)
		}
		sent++
	}
	if sent != 49 {
		t.Errorf("sent %d messages, want 49", sent)
	}
	if got := rawExchange(t, env.srv.UDPAddr(), rawRequest("OPTIONS", "after-torture"), 5*time.Second); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Fatalf("OPTIONS after torture: got %q, want SIP/2.0 200", got)
	}
}

// A re-INVITE (session refresh) gets 200 with the SDP the call already has.
func TestReInviteSameSDP(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	j := env.waitJoin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := sip.NewRequest(sip.INVITE, p.dlg.InviteResponse.Contact().Address)
	req.SetBody(p.offer())
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res, err := p.dlg.Do(ctx, req)
	if err != nil {
		t.Fatalf("re-INVITE: %v", err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("re-INVITE: got %d, want 200", res.StatusCode)
	}
	if got, want := string(res.Body()), string(p.dlg.InviteResponse.Body()); got != want {
		t.Errorf("re-INVITE SDP:\n%s\nwant the original:\n%s", got, want)
	}
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"reversed rtp range", Config{Listen: "127.0.0.1:0", RTPPortMin: 20000, RTPPortMax: 10000}},
		{"bad media ip", Config{Listen: "127.0.0.1:0", MediaIP: "example.com"}},
		{"unspecified media ip", Config{Listen: "127.0.0.1:0", MediaIP: "0.0.0.0"}},
		{"bad listen", Config{Listen: "127.0.0.1"}},
	}
	for _, tt := range tests {
		if s, err := New(tt.cfg, &fakeRooms{}, &fakeBridge{}, tonePrompts{}, nil); err == nil {
			s.Close()
			t.Errorf("%s: got nil error, want one", tt.name)
		}
	}
}

// With MediaIP set, the SDP answer announces it.
func TestMediaIPInAnswer(t *testing.T) {
	env := startServer(t, Config{MediaIP: "192.0.2.44"})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	j := env.waitJoin(t)
	m, err := Negotiate(p.dlg.InviteResponse.Body())
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Remote.Addr().String(); got != "192.0.2.44" {
		t.Errorf("answer c= %s, want 192.0.2.44", got)
	}
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}

// Listening on all interfaces (as ":5060" does), the answer still names the
// address the caller reached, never 0.0.0.0, and the server's BYE arrives.
func TestListenAllInterfaces(t *testing.T) {
	env := startServer(t, Config{Listen: ":0", RTPTimeout: time.Second})
	addr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: env.srv.UDPAddr().Port}
	p := newPhone(t, addr)
	p.call(openNumber)
	j := env.waitJoin(t)
	m, err := Negotiate(p.dlg.InviteResponse.Body())
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Remote.Addr().String(); got != "127.0.0.1" {
		t.Errorf("answer c= %s, want 127.0.0.1", got)
	}
	p.waitBye(testWaitLong) // RTP timeout: the server hangs up
	waitClosed(t, j.member.left, "Leave")
}
