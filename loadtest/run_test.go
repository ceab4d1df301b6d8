package loadtest

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// fakeBridge is a tiny SIP+RTP server for testing the load tool itself: it
// answers every INVITE and forwards every audio packet of the mouth (caller
// 0) to every other call after a fixed delay, so the delay the tool reports
// must match the one the bridge adds.
type fakeBridge struct {
	t     *testing.T
	delay time.Duration
	addr  *net.UDPAddr

	mu    sync.Mutex
	calls []*fakeCall
}

type fakeCall struct {
	conn   *net.UDPConn
	remote *net.UDPAddr
	pt     uint8 // the codec the caller offered (and the bridge relays): 0 or 9
	seq    uint16
	ts     uint32
}

func newFakeBridge(t *testing.T, delay time.Duration) *fakeBridge {
	t.Helper()
	b := &fakeBridge{t: t, delay: delay}
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = conn.LocalAddr().(*net.UDPAddr)
	srv, _ := sipgo.NewServer(ua)
	client, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(b.addr.Port))
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: b.addr.Port}}
	dialogs := sipgo.NewDialogServerCache(client, contact)
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) { b.answer(dialogs, contact, req, tx) })
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = dialogs.ReadAck(req, tx) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) { _ = dialogs.ReadBye(req, tx) })
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeUDP(conn) }()
	t.Cleanup(func() {
		conn.Close()
		ua.Close()
		<-done
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range b.calls {
			c.conn.Close()
		}
	})
	return b
}

func (b *fakeBridge) answer(dialogs *sipgo.DialogServerCache, contact sip.ContactHeader, req *sip.Request, tx sip.ServerTransaction) {
	remote, _, pt, err := parseAnswer(req.Body()) // an offer reads the same way
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil))
		return
	}
	c := &fakeCall{conn: conn, remote: remote, pt: uint8(pt)}
	b.mu.Lock()
	b.calls = append(b.calls, c)
	b.mu.Unlock()
	go b.forward(c)
	dlg, err := dialogs.ReadInvite(req, tx)
	if err != nil {
		return
	}
	sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP %d 101\r\na=rtpmap:101 telephone-event/8000\r\n", conn.LocalAddr().(*net.UDPAddr).Port, pt)
	_ = dlg.Respond(200, "OK", []byte(sdp), sip.NewHeader("Content-Type", "application/sdp"), &contact)
}

// forward sends each audio packet of caller 0 (PCMU or G.722, as it
// offered) to every other call, delayed.
func (b *fakeBridge) forward(from *fakeCall) {
	buf := make([]byte, 1500)
	for {
		n, err := from.conn.Read(buf)
		if err != nil {
			return
		}
		if n != 12+frameSamples || buf[1]&0x7f != from.pt {
			continue
		}
		if buf[11] != 0 { // only caller 0, the mouth (see dialOne's SSRCs)
			continue
		}
		payload := append([]byte(nil), buf[12:n]...)
		time.AfterFunc(b.delay, func() { b.fanOut(from, payload) })
	}
}

func (b *fakeBridge) fanOut(from *fakeCall, payload []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.calls {
		if c == from {
			continue
		}
		c.seq++
		c.ts += frameSamples
		pkt := append([]byte{0x80, c.pt, byte(c.seq >> 8), byte(c.seq), byte(c.ts >> 24), byte(c.ts >> 16),
			byte(c.ts >> 8), byte(c.ts), 0, 0, 0, 1}, payload...)
		_, _ = c.conn.WriteToUDP(pkt, c.remote)
	}
}

// TestRunMeasuresTheBridgeDelay: three callers through a bridge that adds
// 60 ms; the tool must report that delay, no loss and every call answered.
func TestRunMeasuresTheBridgeDelay(t *testing.T) {
	const delay = 60 * time.Millisecond
	b := newFakeBridge(t, delay)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{Server: b.addr, Number: "+4930123456", PIN: "12", Calls: 3,
		Rate: 50, Duration: 2500 * time.Millisecond, JoinWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Answered != 3 || rep.Failed != 0 {
		t.Errorf("calls: got %d answered, %d failed, want 3 and 0 (%s)", rep.Answered, rep.Failed, rep.FirstError)
	}
	if rep.Loss() != 0 {
		t.Errorf("loss: got %v, want 0", rep.Loss())
	}
	if len(rep.PhoneToPhone.Delays) < 4 { // 3 bursts, 2 ears, the last may be cut off
		t.Fatalf("onsets: got %d, want at least 4", len(rep.PhoneToPhone.Delays))
	}
	p50, p95 := quantiles(rep.PhoneToPhone.Delays)
	t.Logf("bridge adds %v; measured median %v, p95 %v over %d onsets", delay, p50, p95, len(rep.PhoneToPhone.Delays))
	checkDelays(t, rep.PhoneToPhone.Delays, delay)
}

// TestRunG722MeasuresTheBridgeDelay: the same through G.722 callers: the
// tool offers only G.722, encodes its signal at 16 kHz and decodes what it
// hears, and still times the bursts (the codec and resampling add a few ms).
func TestRunG722MeasuresTheBridgeDelay(t *testing.T) {
	const delay = 60 * time.Millisecond
	b := newFakeBridge(t, delay)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{Server: b.addr, Number: "+4930123456", PIN: "12", Calls: 3, Codec: CodecG722,
		Rate: 50, Duration: 2500 * time.Millisecond, JoinWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Answered != 3 || rep.Failed != 0 {
		t.Errorf("calls: got %d answered, %d failed, want 3 and 0 (%s)", rep.Answered, rep.Failed, rep.FirstError)
	}
	if len(rep.PhoneToPhone.Delays) < 4 {
		t.Fatalf("onsets: got %d, want at least 4 (the bursts did not survive G.722)", len(rep.PhoneToPhone.Delays))
	}
	p50, p95 := quantiles(rep.PhoneToPhone.Delays)
	t.Logf("bridge adds %v; measured through G.722 median %v, p95 %v over %d onsets", delay, p50, p95, len(rep.PhoneToPhone.Delays))
	checkDelays(t, rep.PhoneToPhone.Delays, delay)
	if _, err := Run(ctx, Config{Server: b.addr, Number: "1", Calls: 1, Codec: "gsm"}); err == nil {
		t.Error("codec gsm: got no error, want one")
	}
}

func TestRunRefusesNonLoopback(t *testing.T) {
	_, err := Run(context.Background(), Config{Server: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5060}, Calls: 1})
	if err == nil {
		t.Error("a non-loopback server: got no error, want one")
	}
}

// TestRunEmulatesJitter: with -jitter 30ms the fake bridge's packets arrive
// 0-30 ms later, so the measured delay spreads over 60-90 ms.
func TestRunEmulatesJitter(t *testing.T) {
	b := newFakeBridge(t, 60*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{Server: b.addr, Number: "+4930123456", Calls: 3, Rate: 50,
		Duration: 2500 * time.Millisecond, JoinWait: 200 * time.Millisecond, Jitter: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.PhoneToPhone.Delays) < 4 {
		t.Fatalf("onsets: got %d, want at least 4", len(rep.PhoneToPhone.Delays))
	}
	// Never faster than the bridge; spread by the jitter (a busy machine may
	// add scheduling delay on top, so the upper end is only a sanity bound).
	lo, hi := rep.PhoneToPhone.Delays[0], rep.PhoneToPhone.Delays[0]
	for _, d := range rep.PhoneToPhone.Delays {
		lo, hi = min(lo, d), max(hi, d)
		if d < 60*time.Millisecond || d > 250*time.Millisecond {
			t.Errorf("delay %v: want 60-90 ms (60 ms bridge + 0-30 ms jitter)", d)
		}
	}
	t.Logf("delays %v .. %v over %d onsets", lo, hi, len(rep.PhoneToPhone.Delays))
	if hi-lo < 2*time.Millisecond {
		t.Errorf("delays %v .. %v: want them spread by the 0-30 ms jitter", lo, hi)
	}
}

// checkDelays judges the measured mouth-to-ear delays against the bridge's
// own delay: none may be shorter (the bursts cannot arrive before the bridge
// sends them), and the least disturbed onset must match it within 20 ms
// (codec and framing). A busy machine delays some onsets further by
// scheduling; that spread is reported, not judged.
func checkDelays(t *testing.T, delays []time.Duration, bridge time.Duration) {
	t.Helper()
	lo := slices.Min(delays)
	if lo < bridge || lo > bridge+20*time.Millisecond {
		t.Errorf("mouth-to-ear: shortest %v; want %v to %v", lo, bridge, bridge+20*time.Millisecond)
	}
}
