package sip

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"dialroom/mixer"
)

// phoneSRTP is the test phone's SDES-SRTP side: it offers RTP/SAVP with
// its key, encrypts what it sends and decrypts what it receives with the
// key of the server's answer.
type phoneSRTP struct {
	t      *testing.T
	tag    int
	key    *sdesKey
	out    *srtp.Context // used by the test goroutine (send)
	outMu  sync.Mutex
	in     atomic.Pointer[srtp.Context] // used by the RTP reader only
	server atomic.Pointer[sdesKey]      // the server's key from the last answer
}

func newPhoneSRTP(t *testing.T, suite string) *phoneSRTP {
	t.Helper()
	s, ok := suiteByName(suite)
	if !ok {
		t.Fatalf("unknown suite %s", suite)
	}
	ps := &phoneSRTP{t: t, tag: 1}
	ps.rekey(s)
	return ps
}

// rekey switches the phone to a fresh key of suite for what it sends.
func (ps *phoneSRTP) rekey(s sdesSuite) {
	ps.t.Helper()
	ps.outMu.Lock()
	defer ps.outMu.Unlock()
	ps.key = newSDESKey(s)
	out, err := ps.key.context()
	if err != nil {
		ps.t.Fatal(err)
	}
	ps.out = out
}

// cryptoLine is the phone's a=crypto attribute.
func (ps *phoneSRTP) cryptoLine() string {
	ps.outMu.Lock()
	defer ps.outMu.Unlock()
	return cryptoAttr(ps.tag, ps.key)
}

// answered takes the server's key from an SDP answer; a new key gets a new
// decryption context, the same key keeps the old one (and its state).
func (ps *phoneSRTP) answered(body []byte) {
	ps.t.Helper()
	m, err := Negotiate(body)
	if err != nil {
		ps.t.Fatalf("answer %q: %v", body, err)
	}
	if !m.Secure() {
		ps.t.Fatalf("answer is not RTP/SAVP with a=crypto:\n%s", body)
	}
	if m.cryptoTag != ps.tag {
		ps.t.Fatalf("answer's crypto tag %d, want our %d", m.cryptoTag, ps.tag)
	}
	if ps.key.sameAs(m.remoteKey) {
		ps.t.Fatal("the server answered with the phone's own key")
	}
	if ps.server.Load().sameAs(m.remoteKey) {
		return
	}
	in, err := m.remoteKey.context()
	if err != nil {
		ps.t.Fatal(err)
	}
	ps.server.Store(m.remoteKey)
	ps.in.Store(in)
}

func (ps *phoneSRTP) encrypt(b []byte) []byte {
	ps.outMu.Lock()
	defer ps.outMu.Unlock()
	out, err := ps.out.EncryptRTP(nil, b, nil)
	if err != nil {
		ps.t.Fatal(err)
	}
	return out
}

// decrypt returns the plain packet, or false when it does not
// authenticate (or no answer arrived yet).
func (ps *phoneSRTP) decrypt(b []byte) ([]byte, bool) {
	in := ps.in.Load()
	if in == nil {
		return nil, false
	}
	out, err := in.DecryptRTP(nil, b, nil)
	return out, err == nil
}

// offerSAVP is the phone's RTP/SAVP offer with its crypto line.
func (p *phone) offerSAVP() []byte {
	port := p.rtpConn.LocalAddr().(*net.UDPAddr).Port
	return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/SAVP 0 96\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n%s\r\n",
		port, p.srtp.cryptoLine()))
}

// dominantHz is the strongest frequency of pcm between 200 and 3400 Hz in
// 10 Hz steps (Goertzel).
func dominantHz(pcm []int16) float64 {
	best, bestP := 0.0, -1.0
	for f := 200.0; f <= 3400; f += 10 {
		w := 2 * math.Pi * f / mixer.NarrowRate
		c := 2 * math.Cos(w)
		var s1, s2 float64
		for _, x := range pcm {
			s0 := float64(x) + c*s1 - s2
			s2, s1 = s1, s0
		}
		if p := s1*s1 + s2*s2 - c*s1*s2; p > bestP {
			best, bestP = f, p
		}
	}
	return best
}

// waitToneHz waits until the phone decodes a frame whose dominant
// frequency is hz (±20 Hz) and loud.
func (p *phone) waitToneHz(hz float64, timeout time.Duration) {
	p.t.Helper()
	deadline := time.After(timeout)
	pcm := make([]int16, 1500)
	for {
		select {
		case pkt := <-p.packets:
			if pkt.PayloadType != 0 {
				continue
			}
			n := DecodeULaw(pcm, pkt.Payload)
			if rms(pcm[:n]) > 1000 && math.Abs(dominantHz(pcm[:n])-hz) <= 20 {
				return
			}
		case <-deadline:
			p.t.Fatalf("no %v Hz tone within %v", hz, timeout)
		}
	}
}

// srtpTrunk is a loopback trunk with the given SRTP mode.
func srtpTrunk(mode SRTPMode) Config {
	return Config{Trunks: []Trunk{{Name: "carrier", Sources: loopbackPrefixes(), SRTP: mode}}}
}

// An SRTP call both ways, for both 128-bit suites: the phone decrypts the
// prompt (440 Hz) and the room's audio (1330 Hz) and checks their
// frequency; the room hears the phone's encrypted tone.
func TestSRTPCall(t *testing.T) {
	for _, suite := range []string{"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"} {
		t.Run(suite, func(t *testing.T) {
			env := startServer(t, srtpTrunk(SRTPRequired))
			p := newPhoneUA(t, env.srv.UDPAddr(), newPhoneSRTP(t, suite))
			p.call(openNumber)
			if got := sdpLine(t, p.dlg.InviteResponse.Body(), "m=audio"); !strings.Contains(got, " RTP/SAVP ") {
				t.Errorf("answer %q, want RTP/SAVP", got)
			}
			if got := sdpLine(t, p.dlg.InviteResponse.Body(), "a=crypto:"); !strings.HasPrefix(got, "a=crypto:1 "+suite+" inline:") {
				t.Errorf("answer crypto %q, want tag 1 and %s", got, suite)
			}
			p.waitToneHz(440, testWaitLong) // the prompt, decrypted
			j := env.waitJoin(t)
			p.sendToneUntil(j.member.heard, testWaitLong)
			stop := make(chan struct{})
			defer close(stop)
			go roomTone(j.leg, 1330, stop)
			p.waitToneHz(1330, testWaitLong)
			p.hangup()
			waitClosed(t, j.member.left, "Leave")
		})
	}
}

// roomTone writes hz to leg every 20 ms until stop, like the mixer.
func roomTone(leg mixer.Leg, hz float64, stop <-chan struct{}) {
	pcm := tone(hz, mixer.NarrowSamples)
	t := time.NewTicker(frameInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			leg.WriteAudio(pcm)
		}
	}
}

// Each trunk mode accepts or refuses plain and SRTP offers; malformed or
// unusable a=crypto lines are refused with 488, never a crash.
func TestSRTPModes(t *testing.T) {
	plain := func(p *phone) []byte { return p.offerAVP() }
	savp := func(p *phone) []byte { return p.offerSAVP() }
	bad := func(line string) func(p *phone) []byte {
		return func(p *phone) []byte {
			port := p.rtpConn.LocalAddr().(*net.UDPAddr).Port
			return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
				"m=audio %d RTP/SAVP 0\r\n%s\r\n", port, line))
		}
	}
	tests := []struct {
		name  string
		mode  SRTPMode
		offer func(p *phone) []byte
		want  int
	}{
		{"required plain", SRTPRequired, plain, 488},
		{"required savp", SRTPRequired, savp, 200},
		{"optional plain", SRTPOptional, plain, 200},
		{"optional savp", SRTPOptional, savp, 200},
		{"default savp", "", savp, 200},
		{"off plain", SRTPOff, plain, 200},
		{"off savp", SRTPOff, savp, 488},
		{"no crypto", SRTPRequired, bad(""), 488},
		{"short key", SRTPRequired, bad("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA"), 488},
		{"bad base64", SRTPRequired, bad("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"), 488},
		{"unknown suite", SRTPRequired, bad("a=crypto:1 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw"), 488},
		{"unencrypted", SRTPRequired, bad("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw UNENCRYPTED_SRTP"), 488},
		{"no tag", SRTPOptional, bad("a=crypto: AES_CM_128_HMAC_SHA1_80"), 488},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := startServer(t, srtpTrunk(tt.mode))
			p := newPhoneUA(t, env.srv.UDPAddr(), newPhoneSRTP(t, "AES_CM_128_HMAC_SHA1_80"))
			code := p.inviteStatus(openNumber, tt.offer(p))
			if code != tt.want {
				t.Fatalf("got %d, want %d", code, tt.want)
			}
		})
	}
}

// A re-INVITE that repeats the keys keeps both streams going; one with a
// new key from the caller gets the same server key back (the caller's
// new stream is heard); one that changes the suite gets a new server key
// (the phone decrypts the server's audio with it).
func TestSRTPReInviteKeys(t *testing.T) {
	env := startServer(t, srtpTrunk(SRTPRequired))
	p := newPhoneUA(t, env.srv.UDPAddr(), newPhoneSRTP(t, "AES_CM_128_HMAC_SHA1_80"))
	p.call(openNumber)
	j := env.waitJoin(t)
	p.sendToneUntil(j.member.heard, testWaitLong)
	stop := make(chan struct{})
	defer close(stop)
	go roomTone(j.leg, 1330, stop)
	p.waitToneHz(1330, testWaitLong)
	first := p.srtp.server.Load()

	reinvite := func(what string) {
		t.Helper()
		res := p.inDialog(sip.INVITE, p.offerSAVP())
		if res.StatusCode != 200 {
			t.Fatalf("%s: re-INVITE got %d, want 200", what, res.StatusCode)
		}
		p.srtp.answered(res.Body())
		drain(p.packets)
		p.waitToneHz(1330, testWaitLong)
		drain(j.member.loudSig)
		p.sendToneUntil(j.member.loudSig, testWaitLong)
	}

	reinvite("same keys")
	if !p.srtp.server.Load().sameAs(first) {
		t.Error("same offer: the server's key changed, want it kept")
	}

	p.srtp.rekey(p.srtp.key.suite)
	reinvite("new caller key")
	if !p.srtp.server.Load().sameAs(first) {
		t.Error("new caller key: the server's key changed, want it kept")
	}

	s32, _ := suiteByName("AES_CM_128_HMAC_SHA1_32")
	p.srtp.rekey(s32)
	reinvite("new suite")
	if got := p.srtp.server.Load(); got.sameAs(first) || got.suite != s32 {
		t.Errorf("new suite: server key %v, want a new %s key", got, s32.name)
	}
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}

func drain[T any](ch <-chan T) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// Plain RTP, and SRTP under someone else's key, never reach the room of
// an SRTP call.
func TestSRTPDropsUnauthenticated(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	s80, _ := suiteByName("AES_CM_128_HMAC_SHA1_80")
	theirs, ours, stranger := newSDESKey(s80), newSDESKey(s80), newSDESKey(s80)
	m := Media{Codec: PCMU, PT: 0, EventPT: -1, Remote: addrPort(peer), remoteKey: theirs, localKey: ours, cryptoTag: 1}
	s := newRTPSession(conn, m, testLogger())
	defer s.Close()
	member := &fakeMember{heard: make(chan struct{}), left: make(chan struct{}), loudSig: make(chan struct{}, 1)}
	s.SetMembership(member)

	send := func(key *sdesKey, seq uint16) {
		payload := make([]byte, mixer.NarrowSamples)
		EncodeULaw(payload, tone(1000, mixer.NarrowSamples))
		b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq,
			Timestamp: uint32(seq) * mixer.NarrowSamples, SSRC: 0xC0FFEE}, Payload: payload}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if key != nil {
			c, err := key.context()
			if err != nil {
				t.Fatal(err)
			}
			if b, err = c.EncryptRTP(nil, b, nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := peer.WriteToUDP(b, conn.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		send(nil, uint16(i))
		send(stranger, uint16(i))
	}
	// Then the right key: once it is heard, everything before it was
	// processed (one reader, in order).
	deadline := time.After(testWaitLong)
	for seq := uint16(100); ; seq++ {
		send(theirs, seq)
		select {
		case <-member.heard:
			// Push closes heard just before it counts the frame.
			for member.loudFrames() == 0 {
				time.Sleep(time.Millisecond)
			}
			// 40 forged packets came first; authentic ones went one per 20 ms.
			if loud, sent := member.loudFrames(), int(seq-99); loud > sent {
				t.Fatalf("the room heard %d loud frames after %d authentic packets, want at most %d", loud, sent, sent)
			}
			return
		case <-deadline:
			t.Fatal("authentic SRTP never reached the room")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// A late offer (INVITE without SDP) from a trunk that requires SRTP gets
// an RTP/SAVP offer with our key in the 200; the caller's key comes in
// the ACK, and audio flows encrypted both ways.
func TestSRTPLateOffer(t *testing.T) {
	env := startServer(t, srtpTrunk(SRTPRequired))
	p := newPhoneUA(t, env.srv.UDPAddr(), newPhoneSRTP(t, "AES_CM_128_HMAC_SHA1_80"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	uri := sip.Uri{Scheme: "sip", User: openNumber, Host: p.server.IP.String(), Port: p.server.Port}
	dlg, err := p.dialogs.Invite(ctx, uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := dlg.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		t.Fatalf("late offer INVITE: %v", err)
	}
	if got := sdpLine(t, dlg.InviteResponse.Body(), "m=audio"); !strings.Contains(got, " RTP/SAVP ") {
		t.Fatalf("our offer %q, want RTP/SAVP", got)
	}
	p.srtp.answered(dlg.InviteResponse.Body()) // our offer's key is what the phone decrypts with
	ack := sip.NewRequest(sip.ACK, dlg.InviteResponse.Contact().Address)
	ack.SetBody(p.offerSAVP()) // the answer: tag 1, the same suite, the phone's key
	ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: dlg.InviteRequest.CSeq().SeqNo, MethodName: sip.ACK})
	if err := dlg.WriteAck(ctx, ack); err != nil {
		t.Fatal(err)
	}
	p.dlg = dlg
	p.waitToneHz(440, testWaitLong)
	j := env.waitJoin(t)
	p.sendToneUntil(j.member.heard, testWaitLong)
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}

// On an SRTP call RTCP is SRTCP both ways: the caller's plain SR is
// ignored, its SRTCP SR is taken (our report echoes it), and our report
// decrypts with our key.
func TestSRTCPReports(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	peerRTP, peerRTCP, err := listenRTPPair(lo, 31400, 31498)
	if err != nil {
		t.Fatal(err)
	}
	defer peerRTP.Close()
	defer peerRTCP.Close()
	conn, rtcpConn, err := listenRTPPair(lo, 31500, 31598)
	if err != nil {
		t.Fatal(err)
	}
	s80, _ := suiteByName("AES_CM_128_HMAC_SHA1_80")
	theirs, ours := newSDESKey(s80), newSDESKey(s80)
	s := newRTPSession(conn, Media{Codec: PCMU, PT: 0, EventPT: -1, Remote: addrPort(peerRTP),
		remoteKey: theirs, localKey: ours, cryptoTag: 1}, testLogger())
	s.attachRTCP(rtcpConn)
	defer s.Close()

	plainNTP, secureNTP := ntpTime(time.Now().Add(-time.Hour)), ntpTime(time.Now())
	plain, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: 0xBEEF, NTPTime: plainNTP}})
	enc, err := theirs.context()
	if err != nil {
		t.Fatal(err)
	}
	sr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: 0xBEEF, NTPTime: secureNTP}})
	if sr, err = enc.EncryptRTCP(nil, sr, nil); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{plain, sr} {
		if _, err := peerRTCP.WriteToUDP(b, rtcpConn.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
	}
	// One report block needs one received RTP packet (SRTP, of course).
	b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 7, SSRC: 0xBEEF},
		Payload: make([]byte, mixer.NarrowSamples)}).Marshal()
	rtpEnc, err := theirs.context()
	if err != nil {
		t.Fatal(err)
	}
	if b, err = rtpEnc.EncryptRTP(nil, b, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := peerRTP.WriteToUDP(b, conn.LocalAddr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.rtcpRemote.Load() == nil || !s.stats.hasPacket() {
		if time.Now().After(deadline) {
			t.Fatal("the caller's SRTCP and SRTP never arrived")
		}
		time.Sleep(5 * time.Millisecond) // condition wait for the readers
	}
	s.sendRTCP(time.Now())
	buf := make([]byte, 1500)
	_ = peerRTCP.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := peerRTCP.Read(buf)
	if err != nil {
		t.Fatalf("no RTCP at the caller: %v", err)
	}
	dec, err := ours.context()
	if err != nil {
		t.Fatal(err)
	}
	out, err := dec.DecryptRTCP(nil, buf[:n], nil)
	if err != nil {
		t.Fatalf("our report does not decrypt with our key: %v", err)
	}
	pkts, err := rtcp.Unmarshal(out)
	if err != nil || len(pkts) != 2 {
		t.Fatalf("got %d RTCP packets (%v), want RR + SDES", len(pkts), err)
	}
	rr, ok := pkts[0].(*rtcp.ReceiverReport)
	if !ok || len(rr.Reports) != 1 {
		t.Fatalf("first packet %+v, want a receiver report with one block", pkts[0])
	}
	if want := uint32(secureNTP >> 16); rr.Reports[0].LastSenderReport != want {
		t.Errorf("LSR %08x, want %08x (the SRTCP SR, not the plain one)", rr.Reports[0].LastSenderReport, want)
	}
}

// hasPacket reports whether an RTP packet was counted.
func (r *recvStats) hasPacket() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started
}
