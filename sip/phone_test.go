package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"dialroom/mixer"
)

// phone is a test caller: a sipgo UA on 127.0.0.1 with its own RTP socket.
type phone struct {
	t       *testing.T
	server  *net.UDPAddr
	ua      *sipgo.UserAgent
	dialogs *sipgo.DialogClientCache
	rtpConn *net.UDPConn
	packets chan rtp.Packet   // everything the server sent us
	byes    chan struct{}     // one value per BYE the server sent
	updates chan *sip.Request // UPDATEs the server sent (answered 200)
	dlg     *sipgo.DialogClientSession
	seq     uint16
	wg      sync.WaitGroup

	noEvents bool   // offer no telephone-event: keys go in-band
	from     string // caller number in From; "" means +4930123456

	tlsAddr *net.TCPAddr // call over TLS to this address instead of UDP
	sips    bool         // with a sips: Request-URI (else transport=tls)
	srtp    *phoneSRTP   // offer RTP/SAVP (srtp_test.go); nil: plain RTP
	body    []byte       // the next INVITE's SDP instead of offer()
}

func newPhone(t *testing.T, server *net.UDPAddr) *phone {
	t.Helper()
	return newPhoneUA(t, server, nil)
}

// newPhoneUA is newPhone with SRTP (nil: plain RTP) and extra user agent
// options (a TLS config).
func newPhoneUA(t *testing.T, server *net.UDPAddr, ps *phoneSRTP, opts ...sipgo.UserAgentOption) *phone {
	t.Helper()
	ua, err := sipgo.NewUA(append(opts, sipgo.WithUserAgentHostname("127.0.0.1"))...)
	if err != nil {
		t.Fatal(err)
	}
	sigConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := sigConn.LocalAddr().(*net.UDPAddr).Port
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port))
	if err != nil {
		t.Fatal(err)
	}
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "caller", Host: "127.0.0.1", Port: port}}
	rtpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &phone{t: t, server: server, ua: ua, dialogs: sipgo.NewDialogClientCache(client, contact),
		rtpConn: rtpConn, packets: make(chan rtp.Packet, 4096), byes: make(chan struct{}, 4),
		updates: make(chan *sip.Request, 16), srtp: ps}
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := p.dialogs.ReadBye(req, tx); err != nil {
			tx.Respond(sip.NewResponseFromRequest(req, 481, "No dialog", nil))
			return
		}
		p.byes <- struct{}{}
	})
	srv.OnUpdate(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		select {
		case p.updates <- req:
		default:
		}
	})
	p.wg.Add(2)
	go func() { defer p.wg.Done(); _ = srv.ServeUDP(sigConn) }()
	go func() { defer p.wg.Done(); p.readRTP() }()
	t.Cleanup(func() {
		rtpConn.Close()
		sigConn.Close()
		ua.Close()
		p.wg.Wait()
	})
	return p
}

func (p *phone) readRTP() {
	buf := make([]byte, 1500)
	for {
		n, err := p.rtpConn.Read(buf)
		if err != nil {
			return
		}
		b := append([]byte(nil), buf[:n]...)
		if p.srtp != nil {
			var ok bool
			if b, ok = p.srtp.decrypt(b); !ok {
				continue // not authentic (or before the answer): a real phone drops it
			}
		}
		var pkt rtp.Packet
		if pkt.Unmarshal(b) == nil {
			select {
			case p.packets <- pkt:
			default:
			}
		}
	}
}

func (p *phone) offer() []byte {
	if p.srtp != nil {
		return p.offerSAVP()
	}
	return p.offerAVP()
}

// offerAVP is the phone's plain RTP/AVP offer.
func (p *phone) offerAVP() []byte {
	port := p.rtpConn.LocalAddr().(*net.UDPAddr).Port
	if p.noEvents {
		return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
			"m=audio %d RTP/AVP 0 8\r\n", port))
	}
	return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 8 96\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n", port))
}

// invite sends an INVITE to number and returns the dialog and the final
// response error (nil on 2xx).
func (p *phone) invite(ctx context.Context, number string, opts sipgo.AnswerOptions, hdrs ...sip.Header) (*sipgo.DialogClientSession, error) {
	uri := sip.Uri{Scheme: "sip", User: number, Host: p.server.IP.String(), Port: p.server.Port}
	if p.tlsAddr != nil {
		uri.Port = p.tlsAddr.Port
		uri.UriParams = sip.NewParams()
		uri.UriParams.Add("transport", "tls") // sipgo's client needs it even with sips:
		if p.sips {
			uri.Scheme = "sips"
		}
	}
	user := p.from
	if user == "" {
		user = "+4930123456"
	}
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1"},
		Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	hdrs = append(hdrs, from, sip.NewHeader("Content-Type", "application/sdp"))
	body := p.offer()
	if p.body != nil {
		body = p.body
	}
	dlg, err := p.dialogs.Invite(ctx, uri, body, hdrs...)
	if err != nil {
		return nil, err
	}
	return dlg, dlg.WaitAnswer(ctx, opts)
}

// call places a call that must be answered, and ACKs it.
func (p *phone) call(number string, hdrs ...sip.Header) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dlg, err := p.invite(ctx, number, sipgo.AnswerOptions{}, hdrs...)
	if err != nil {
		p.t.Fatalf("call %s: %v", number, err)
	}
	if err := dlg.Ack(ctx); err != nil {
		p.t.Fatalf("ack: %v", err)
	}
	p.dlg = dlg
	if p.srtp != nil {
		p.srtp.answered(dlg.InviteResponse.Body())
	}
}

// inviteStatus sends an INVITE with body to number and returns the final
// status code (ACKing a 200, then hanging up).
func (p *phone) inviteStatus(number string, body []byte) int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.body = body
	defer func() { p.body = nil }()
	dlg, err := p.invite(ctx, number, sipgo.AnswerOptions{})
	var rerr *sipgo.ErrDialogResponse
	switch {
	case errors.As(err, &rerr):
		return rerr.Res.StatusCode
	case err != nil:
		p.t.Fatalf("invite %s: %v", number, err)
	}
	if err := dlg.Ack(ctx); err != nil {
		p.t.Fatalf("ack: %v", err)
	}
	p.dlg = dlg
	p.hangup()
	return dlg.InviteResponse.StatusCode
}

// waitLoudAudio waits for an RTP packet whose decoded payload is not silence.
func (p *phone) waitLoudAudio(timeout time.Duration) {
	p.t.Helper()
	deadline := time.After(timeout)
	pcm := make([]int16, 1500)
	for {
		select {
		case pkt := <-p.packets:
			n := DecodeULaw(pcm, pkt.Payload)
			if pkt.PayloadType == 0 && rms(pcm[:n]) > 1000 {
				return
			}
		case <-deadline:
			p.t.Fatalf("no audible RTP within %v", timeout)
		}
	}
}

// serverRTP is where the server's RTP comes from (we send there: symmetric).
func (p *phone) serverRTP() *net.UDPAddr {
	p.t.Helper()
	sdp, err := Negotiate(p.dlg.InviteResponse.Body())
	if err != nil {
		p.t.Fatalf("answer sdp: %v", err)
	}
	return net.UDPAddrFromAddrPort(sdp.Remote)
}

func (p *phone) send(pkt *rtp.Packet) {
	b, err := pkt.Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	if p.srtp != nil {
		b = p.srtp.encrypt(b)
	}
	if _, err := p.rtpConn.WriteToUDP(b, p.serverRTP()); err != nil {
		p.t.Fatal(err)
	}
}

// sendDTMFLikeSipp sends keys as sipp 3.6's play_dtmf does: ~20 packets of
// payload type 97 first, events on their own SSRC with payload type 96,
// timestamps in milliseconds, three end packets per key.
func (p *phone) sendDTMFLikeSipp(keys string) {
	const ssrc = 0xD7F0
	for i := range 20 {
		p.send(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 97, SequenceNumber: uint16(i), SSRC: ssrc},
			Payload: make([]byte, 160)})
	}
	ts := uint32(1000)
	for _, k := range []byte(keys) {
		ev := byte(11)
		switch {
		case k >= '0' && k <= '9':
			ev = k - '0'
		case k == '*':
			ev = 10
		}
		for i := uint16(1); i <= 13; i++ {
			end := i > 10
			dur := min(i, 10) * 160
			p.seq++
			p.send(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Marker: i == 1,
				SequenceNumber: p.seq, Timestamp: ts + uint32(i)*20, SSRC: ssrc}, Payload: dtmfPayload(ev, end, dur)})
		}
		ts += 400
	}
}

// sendTone sends n 20 ms frames of a 1 kHz tone as PCMU.
func (p *phone) sendTone(n int) {
	p.sendPCM(tone(1000, n*mixer.NarrowSamples))
}

// sendToneUntil sends 5 tone frames every 100 ms until done is closed.
func (p *phone) sendToneUntil(done <-chan struct{}, timeout time.Duration) {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		p.sendTone(5)
		select {
		case <-done:
			return
		case <-deadline:
			p.t.Fatalf("the room did not hear the caller within %v", timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// sendPCM sends pcm as 20 ms PCMU packets (a partial last frame is dropped).
func (p *phone) sendPCM(pcm []int16) {
	n := len(pcm) / mixer.NarrowSamples
	for i := range n {
		payload := make([]byte, mixer.NarrowSamples)
		EncodeULaw(payload, pcm[i*mixer.NarrowSamples:])
		p.seq++
		p.send(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: p.seq,
			Timestamp: uint32(i * mixer.NarrowSamples), SSRC: 0xA0D10}, Payload: payload})
	}
}

func (p *phone) waitBye(timeout time.Duration) {
	p.t.Helper()
	select {
	case <-p.byes:
	case <-time.After(timeout):
		p.t.Fatalf("no BYE from the server within %v", timeout)
	}
}

func (p *phone) hangup() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.dlg.Bye(ctx); err != nil && !errors.Is(err, context.Canceled) {
		p.t.Fatalf("bye: %v", err)
	}
}
