package sip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"dialroom/mixer"
)

// holdSDP is the phone's offer with direction dir and connection address c.
func (p *phone) holdSDP(dir, c string) []byte {
	port := p.rtpConn.LocalAddr().(*net.UDPAddr).Port
	return []byte(fmt.Sprintf("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 96\r\na=rtpmap:96 telephone-event/8000\r\na=%s\r\n", c, port, dir))
}

// inDialog sends method with body in the phone's dialog and returns the response.
func (p *phone) inDialog(method sip.RequestMethod, body []byte, hdrs ...sip.Header) *sip.Response {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := sip.NewRequest(method, p.dlg.InviteResponse.Contact().Address)
	if body != nil {
		req.SetBody(body)
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	res, err := p.dlg.Do(ctx, req)
	if err != nil {
		p.t.Fatalf("%s: %v", method, err)
	}
	if method == sip.INVITE && res.StatusCode == 200 {
		ack := sip.NewRequest(sip.ACK, p.dlg.InviteResponse.Contact().Address)
		ack.AppendHeader(&sip.CSeqHeader{SeqNo: res.CSeq().SeqNo, MethodName: sip.ACK})
		if err := p.dlg.WriteAck(ctx, ack); err != nil {
			p.t.Fatalf("ack: %v", err)
		}
	}
	return res
}

func sdpLine(t *testing.T, body []byte, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(string(body), "\r\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

func sdpDirection(body []byte) string {
	for _, d := range []string{"a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"} {
		if strings.Contains(string(body), d+"\r\n") {
			return d
		}
	}
	return ""
}

// Hold and resume by re-INVITE and UPDATE get the mirrored direction, a new
// o= version when the SDP changes, and keep the call up.
func TestHoldResumeAnswers(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	j := env.waitJoin(t)
	o0 := sdpLine(t, p.dlg.InviteResponse.Body(), "o=")
	steps := []struct {
		method sip.RequestMethod
		dir, c string
		want   string
	}{
		{sip.INVITE, "sendonly", "127.0.0.1", "a=recvonly"},
		{sip.INVITE, "sendrecv", "127.0.0.1", "a=sendrecv"},
		{sip.UPDATE, "inactive", "127.0.0.1", "a=inactive"},
		{sip.UPDATE, "sendrecv", "127.0.0.1", "a=sendrecv"},
		{sip.INVITE, "sendrecv", "0.0.0.0", "a=recvonly"}, // RFC 2543 hold
		{sip.INVITE, "sendrecv", "127.0.0.1", "a=sendrecv"},
	}
	prevO := o0
	for i, st := range steps {
		res := p.inDialog(st.method, p.holdSDP(st.dir, st.c))
		if res.StatusCode != 200 {
			t.Fatalf("step %d %s %s: got %d, want 200", i, st.method, st.dir, res.StatusCode)
		}
		if got := sdpDirection(res.Body()); got != st.want {
			t.Errorf("step %d %s %s c=%s: answer %q, want %q", i, st.method, st.dir, st.c, got, st.want)
		}
		o := sdpLine(t, res.Body(), "o=")
		if o == prevO {
			t.Errorf("step %d: o= line %q unchanged after a change, want a higher version", i, o)
		}
		prevO = o
	}
	// A refresh without a change keeps the version; UPDATE without SDP is
	// answered without SDP.
	if res := p.inDialog(sip.INVITE, p.holdSDP("sendrecv", "127.0.0.1")); sdpLine(t, res.Body(), "o=") != prevO {
		t.Errorf("unchanged re-INVITE: o= %q, want %q", sdpLine(t, res.Body(), "o="), prevO)
	}
	if res := p.inDialog(sip.UPDATE, nil); res.StatusCode != 200 || len(res.Body()) != 0 {
		t.Errorf("UPDATE without SDP: got %d with %d body bytes, want 200 without body", res.StatusCode, len(res.Body()))
	}
	if res := p.inDialog(sip.INVITE, []byte("v=0\r\nnonsense")); res.StatusCode != 488 {
		t.Errorf("re-INVITE with bad SDP: got %d, want 488", res.StatusCode)
	}
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}

// A caller on hold sends no RTP and is not hung up for it; after resume
// the RTP timeout applies again (and ends this silent call).
func TestHoldSuspendsRTPTimeout(t *testing.T) {
	const timeout = time.Second
	env := startServer(t, Config{RTPTimeout: timeout})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	if res := p.inDialog(sip.INVITE, p.holdSDP("inactive", "127.0.0.1")); res.StatusCode != 200 {
		t.Fatalf("hold: got %d, want 200", res.StatusCode)
	}
	// Only waiting can show that nothing happens: 2.5 timeouts on hold.
	select {
	case <-p.byes:
		t.Fatal("call on hold was hung up for missing RTP")
	case <-time.After(5 * timeout / 2):
	}
	start := time.Now()
	if res := p.inDialog(sip.INVITE, p.holdSDP("sendrecv", "127.0.0.1")); res.StatusCode != 200 {
		t.Fatalf("resume: got %d, want 200", res.StatusCode)
	}
	p.waitBye(testWaitLong)
	if d := time.Since(start); d < timeout/2 {
		t.Errorf("hung up %v after resume, want the timeout (%v) to count from the resume", d, timeout)
	}
}

// While the caller holds us we send nothing; the stream continues after
// resume with the next sequence number and a timestamp that kept running.
func TestRTPHoldSendsNothing(t *testing.T) {
	peer := loopbackUDP(t)
	conn, err := listenRTP(netip.MustParseAddr("127.0.0.1"), 30600, 30700)
	if err != nil {
		t.Fatal(err)
	}
	m := Media{Codec: PCMU, PT: 0, EventPT: -1, Remote: addrPort(peer)}
	s := newRTPSession(conn, m, testLogger())
	defer s.Close()
	read := func() rtp.Packet {
		buf := make([]byte, 1500)
		_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := peer.Read(buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		return pkt
	}
	s.sendFrame(nil)
	first := read()
	for _, dir := range []Direction{DirSendOnly, DirInactive} {
		held := m
		held.Dir = dir
		s.update(held)
		s.sendFrame(nil)
	}
	s.update(m)
	s.sendFrame(nil)
	next := read()
	if next.SequenceNumber != first.SequenceNumber+1 {
		t.Errorf("seq after resume %d, want %d (nothing sent on hold)", next.SequenceNumber, first.SequenceNumber+1)
	}
	if want := first.Timestamp + 3*mixer.NarrowSamples; next.Timestamp != want {
		t.Errorf("timestamp after resume %d, want %d", next.Timestamp, want)
	}
}

// Once the caller's RTP source is known, packets from elsewhere (a third
// party who found the port) neither change where we send nor type keys.
func TestRTPLatchGuard(t *testing.T) {
	caller, intruder := loopbackUDP(t), loopbackUDP(t)
	conn, err := listenRTP(netip.MustParseAddr("127.0.0.1"), 30800, 30900)
	if err != nil {
		t.Fatal(err)
	}
	s := newRTPSession(conn, Media{Codec: PCMU, PT: 0, EventPT: 96, Remote: addrPort(caller)}, testLogger())
	defer s.Close()
	to := conn.LocalAddr().(*net.UDPAddr)
	send := func(c *net.UDPConn, seq uint16, ev byte) {
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq) * 1000, SSRC: 5},
			Payload: dtmfPayload(ev, true, 800)}).Marshal()
		if _, err := c.WriteToUDP(b, to); err != nil {
			t.Fatal(err)
		}
	}
	send(caller, 1, 1)   // from the SDP address: trusted at once
	send(intruder, 2, 9) // ignored
	send(caller, 3, 2)
	want := "12"
	var got []byte
	for len(got) < len(want) {
		select {
		case d := <-s.digits:
			got = append(got, d)
		case <-time.After(5 * time.Second):
			t.Fatalf("digits %q, want %q", got, want)
		}
	}
	if string(got) != want {
		t.Errorf("digits %q, want %q (the intruder's key must not count)", got, want)
	}
	if r := s.remote.Load(); r == nil || *r != addrPort(caller) {
		t.Errorf("sending to %v, want the caller %v", r, addrPort(caller))
	}
}

func TestLatchGuardLearns(t *testing.T) {
	sdpAddr := netip.MustParseAddrPort("192.0.2.1:4000")
	nat := netip.MustParseAddrPort("198.51.100.9:31000")
	other := netip.MustParseAddrPort("203.0.113.5:5000")
	g := latchGuard{sdp: sdpAddr}
	seq := []struct {
		from netip.AddrPort
		want bool
	}{
		{nat, true}, {other, true}, {nat, true}, {nat, true}, {nat, true}, {nat, true}, // nat learned after 4 in a row
		{other, false}, {sdpAddr, false}, {nat, true},
	}
	for i, p := range seq {
		if got := g.admit(p.from); got != p.want {
			t.Errorf("packet %d from %v: admit %v, want %v", i, p.from, got, p.want)
		}
	}
}

// An INVITE without SDP gets our offer in the 200; the ACK's answer tells
// us where to send, and the call works.
func TestLateOffer(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	uri := sip.Uri{Scheme: "sip", User: roomNumber, Host: p.server.IP.String(), Port: p.server.Port}
	dlg, err := p.dialogs.Invite(ctx, uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := dlg.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		t.Fatalf("late offer INVITE: %v", err)
	}
	offer, err := Negotiate(dlg.InviteResponse.Body())
	if err != nil {
		t.Fatalf("200 carries no usable offer: %v\n%s", err, dlg.InviteResponse.Body())
	}
	if offer.Codec != G722 || offer.PT != 9 || offer.EventPT != lateOfferEventPT {
		t.Errorf("offer %+v, want G.722 (9) first with telephone-event %d", offer, lateOfferEventPT)
	}
	if m := "m=audio " + strconv.Itoa(int(offer.Remote.Port())) + " RTP/AVP 9 111 0 8 101\r\n"; !strings.Contains(string(dlg.InviteResponse.Body()), m) {
		t.Errorf("offer lacks %q:\n%s", m, dlg.InviteResponse.Body())
	}
	ack := sip.NewRequest(sip.ACK, dlg.InviteResponse.Contact().Address)
	ack.SetBody(p.offer()) // PCMU 0 and telephone-event 96: answers with PCMU
	ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: dlg.InviteRequest.CSeq().SeqNo, MethodName: sip.ACK})
	if err := dlg.WriteAck(ctx, ack); err != nil {
		t.Fatal(err)
	}
	p.dlg = dlg
	p.waitLoudAudio(testWaitLong) // the prompt reaches the address in the ACK
	p.sendDTMFLikeSipp("1234#")
	j := env.waitJoin(t)
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}

// A re-INVITE without SDP gets our SDP as the offer; the caller's answer in
// the ACK (here: it only listens, recvonly) takes effect, so silence from
// the caller no longer ends the call.
func TestReInviteWithoutSDP(t *testing.T) {
	const timeout = time.Second
	env := startServer(t, Config{RTPTimeout: timeout})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := sip.NewRequest(sip.INVITE, p.dlg.InviteResponse.Contact().Address)
	res, err := p.dlg.Do(ctx, req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("re-INVITE without SDP: %v %v, want 200", res, err)
	}
	if _, err := Negotiate(res.Body()); err != nil {
		t.Fatalf("200 carries no offer: %v", err)
	}
	ack := sip.NewRequest(sip.ACK, p.dlg.InviteResponse.Contact().Address)
	ack.SetBody(p.holdSDP("recvonly", "127.0.0.1"))
	ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: res.CSeq().SeqNo, MethodName: sip.ACK})
	if err := p.dlg.WriteAck(ctx, ack); err != nil {
		t.Fatal(err)
	}
	// Only waiting shows that nothing happens: 2.5 RTP timeouts.
	select {
	case <-p.byes:
		t.Fatal("call hung up for missing RTP although the caller's answer was recvonly")
	case <-time.After(5 * timeout / 2):
	}
	p.hangup()
}

// A re-INVITE that moves the caller's media (new port) and changes the
// codec to PCMA: our answer says PCMA, and the room's audio goes out as
// PCMA to the new address.
func TestReInviteCodecAndAddressChange(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	j := env.waitJoin(t)
	moved := loopbackUDP(t)
	sdp := fmt.Sprintf("v=0\r\no=- 1 3 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 8\r\na=sendrecv\r\n", moved.LocalAddr().(*net.UDPAddr).Port)
	res := p.inDialog(sip.INVITE, []byte(sdp))
	if res.StatusCode != 200 {
		t.Fatalf("re-INVITE: got %d, want 200", res.StatusCode)
	}
	ans, err := Negotiate(res.Body())
	if err != nil || ans.Codec != PCMA || ans.PT != 8 {
		t.Fatalf("answer %+v (%v), want PCMA/8", ans, err)
	}
	j.leg.WriteAudio(tone(600, mixer.NarrowSamples))
	buf := make([]byte, 1500)
	_ = moved.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := moved.Read(buf)
	if err != nil {
		t.Fatalf("nothing at the new address: %v", err)
	}
	var pkt rtp.Packet
	if err := pkt.Unmarshal(buf[:n]); err != nil || pkt.PayloadType != 8 {
		t.Fatalf("packet PT %d (%v), want 8 (PCMA)", pkt.PayloadType, err)
	}
	pcm := make([]int16, n)
	if k := DecodeALaw(pcm, pkt.Payload); rms(pcm[:k]) < 1000 {
		t.Errorf("PCMA payload decodes to rms %.0f, want the loud 600 Hz tone", rms(pcm[:k]))
	}
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}
