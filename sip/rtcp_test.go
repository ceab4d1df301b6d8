package sip

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"dialroom/mixer"
)

// Our report carries what we sent (SR counts) and what we received from
// the caller (RFC 3550 §6.4: losses, highest sequence number), goes to the
// caller's RTP port + 1, and echoes the caller's last SR (LSR).
func TestRTCPReports(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	peerRTP, peerRTCP, err := listenRTPPair(lo, 31200, 31298)
	if err != nil {
		t.Fatal(err)
	}
	defer peerRTP.Close()
	defer peerRTCP.Close()
	conn, rtcpConn, err := listenRTPPair(lo, 31300, 31398)
	if err != nil {
		t.Fatal(err)
	}
	s := newRTPSession(conn, Media{Codec: PCMU, PT: 0, EventPT: -1, Remote: addrPort(peerRTP)}, testLogger())
	s.attachRTCP(rtcpConn)
	defer s.Close()
	m := &recordMember{got: make(chan struct{}, 64)}
	s.SetMembership(m)

	for range 3 {
		s.sendFrame(nil)
	}
	sent := 0
	for seq := uint16(100); seq < 120; seq++ {
		if seq == 105 || seq == 106 {
			continue // lost
		}
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq,
			Timestamp: uint32(seq) * 160, SSRC: 0xBEEF}, Payload: make([]byte, mixer.NarrowSamples)}).Marshal()
		if _, err := peerRTP.WriteToUDP(b, conn.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
		sent++
	}
	for range sent {
		select {
		case <-m.got:
		case <-time.After(5 * time.Second):
			t.Fatal("caller's packets not all received")
		}
	}
	// The caller's own SR, so that ours can echo it.
	theirNTP := ntpTime(time.Now())
	sr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: 0xBEEF, NTPTime: theirNTP}})
	if _, err := peerRTCP.WriteToUDP(sr, rtcpConn.LocalAddr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.rtcpRemote.Load() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // condition wait for the RTCP reader
	}

	s.sendRTCP(time.Now())
	buf := make([]byte, 1500)
	_ = peerRTCP.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := peerRTCP.Read(buf)
	if err != nil {
		t.Fatalf("no RTCP at the caller's RTP port + 1: %v", err)
	}
	pkts, err := rtcp.Unmarshal(buf[:n])
	if err != nil || len(pkts) != 2 {
		t.Fatalf("got %d RTCP packets (%v), want SR + SDES", len(pkts), err)
	}
	ours, ok := pkts[0].(*rtcp.SenderReport)
	if !ok {
		t.Fatalf("first packet %T, want a sender report", pkts[0])
	}
	if ours.PacketCount != 3 || ours.OctetCount != 3*mixer.NarrowSamples {
		t.Errorf("SR counts %d packets %d octets, want 3 and %d", ours.PacketCount, ours.OctetCount, 3*mixer.NarrowSamples)
	}
	if len(ours.Reports) != 1 {
		t.Fatalf("%d reception reports, want 1", len(ours.Reports))
	}
	rr := ours.Reports[0]
	if rr.SSRC != 0xBEEF || rr.TotalLost != 2 || rr.LastSequenceNumber != 119 || rr.FractionLost != 2*256/20 {
		t.Errorf("report %+v, want SSRC 0xBEEF, 2 lost, highest 119, fraction %d", rr, 2*256/20)
	}
	if want := uint32(theirNTP >> 16); rr.LastSenderReport != want {
		t.Errorf("LSR %08x, want %08x (the middle of the caller's SR time)", rr.LastSenderReport, want)
	}
}

// A caller whose SDP names its RTCP port with a=rtcp (RFC 3605; here not the
// RTP port + 1) gets our reports there before any of its RTCP arrived.
func TestRTCPToAttributePort(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	peerRTP, err := net.ListenUDP("udp", &net.UDPAddr{IP: lo.AsSlice()})
	if err != nil {
		t.Fatal(err)
	}
	defer peerRTP.Close()
	peerRTCP, err := net.ListenUDP("udp", &net.UDPAddr{IP: lo.AsSlice()})
	if err != nil {
		t.Fatal(err)
	}
	defer peerRTCP.Close()
	conn, rtcpConn, err := listenRTPPair(lo, 31400, 31498)
	if err != nil {
		t.Fatal(err)
	}
	offer := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0\r\na=rtcp:%d IN IP4 127.0.0.1\r\n",
		peerRTP.LocalAddr().(*net.UDPAddr).Port, peerRTCP.LocalAddr().(*net.UDPAddr).Port)
	m, err := Negotiate([]byte(offer))
	if err != nil {
		t.Fatal(err)
	}
	if want := addrPort(peerRTCP); m.RTCP != want {
		t.Fatalf("Media.RTCP %v, want %v from a=rtcp", m.RTCP, want)
	}
	s := newRTPSession(conn, m, testLogger())
	s.attachRTCP(rtcpConn)
	defer s.Close()
	s.sendRTCP(time.Now())
	buf := make([]byte, 1500)
	_ = peerRTCP.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := peerRTCP.Read(buf)
	if err != nil {
		t.Fatalf("no RTCP at the a=rtcp port: %v", err)
	}
	if _, err := rtcp.Unmarshal(buf[:n]); err != nil {
		t.Errorf("not RTCP: %v", err)
	}
}

func TestParseRTCPAttr(t *testing.T) {
	media := netip.MustParseAddr("192.0.2.1")
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"53020", "192.0.2.1:53020"},
		{"53020 IN IP4 198.51.100.7", "198.51.100.7:53020"},
		{"53020 IN IP6 2001:db8::1", "[2001:db8::1]:53020"},
		{"53020 IN IP4 2001:db8::1", ""}, // address of the wrong type
		{"53020 IN IP4", ""},
		{"0", ""},
		{"70000", ""},
		{"port", ""},
		{"", ""},
		{"53020 IN IP4 0.0.0.0", ""},
	} {
		got := parseRTCPAttr(tc.in, media)
		s := ""
		if got.IsValid() {
			s = got.String()
		}
		if s != tc.want {
			t.Errorf("a=rtcp:%s: got %q, want %q", tc.in, s, tc.want)
		}
	}
}

// A caller that offers a=rtcp-mux (RFC 5761) gets it in the answer, and
// RTCP then runs over the RTP ports both ways: its sender report on our
// RTP port is taken as RTCP (not as audio), ours goes to its RTP port.
func TestRTCPMux(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: lo.AsSlice()})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	conn, rtcpConn, err := listenRTPPair(lo, 31500, 31598)
	if err != nil {
		t.Fatal(err)
	}
	offer := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0\r\na=rtcp-mux\r\n", peer.LocalAddr().(*net.UDPAddr).Port)
	m, err := Negotiate([]byte(offer))
	if err != nil {
		t.Fatal(err)
	}
	if !m.RTCPMux || !strings.Contains(string(Answer(m, lo, 31500, 1, 1)), "a=rtcp-mux\r\n") {
		t.Fatalf("rtcp-mux offered: Media.RTCPMux %v, answer without a=rtcp-mux", m.RTCPMux)
	}
	plainOffer := strings.Replace(offer, "a=rtcp-mux\r\n", "", 1)
	if pm, _ := Negotiate([]byte(plainOffer)); pm.RTCPMux || strings.Contains(string(Answer(pm, lo, 31500, 1, 1)), "rtcp-mux") {
		t.Error("rtcp-mux not offered, but answered")
	}
	s := newRTPSession(conn, m, testLogger())
	s.attachRTCP(rtcpConn)
	defer s.Close()
	rec := &recordMember{got: make(chan struct{}, 64)}
	s.SetMembership(rec)
	sr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: 0xBEEF, NTPTime: ntpTime(time.Now())}})
	if _, err := peer.WriteToUDP(sr, conn.LocalAddr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.rtcpRemote.Load() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // condition wait for the RTP reader
	}
	if s.rtcpRemote.Load() == nil {
		t.Fatal("the sender report on the RTP port was not taken as RTCP")
	}
	if len(rec.got) != 0 {
		t.Error("the sender report reached the room as audio")
	}
	s.sendRTCP(time.Now())
	buf := make([]byte, 1500)
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := peer.Read(buf)
	if err != nil {
		t.Fatalf("no RTCP at the caller's RTP port: %v", err)
	}
	if pkts, err := rtcp.Unmarshal(buf[:n]); err != nil || len(pkts) == 0 {
		t.Fatalf("not RTCP at the caller's RTP port: %v", err)
	}
}
