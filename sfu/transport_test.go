package sfu

import (
	"errors"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// transportClient is a pion PeerConnection that reaches the SFU only the
// way a test allows (UDP, TCP, or relayed through TURN).
type transportClient struct {
	t      *testing.T
	pc     *webrtc.PeerConnection
	sig    *fakeSignaller
	peer   *Peer
	tracks chan *webrtc.TrackRemote
	done   chan struct{}
}

// joinVia joins room with a client built from networks and conf; publish,
// if set, is sent before the first answer.
func joinVia(t *testing.T, room *Room, name string, networks []webrtc.NetworkType, conf webrtc.Configuration,
	publish webrtc.TrackLocal) *transportClient {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes(networks)
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)).NewPeerConnection(conf)
	if err != nil {
		t.Fatal(err)
	}
	c := &transportClient{t: t, pc: pc, sig: newFakeSignaller(), tracks: make(chan *webrtc.TrackRemote, 8), done: make(chan struct{})}
	t.Cleanup(c.close)
	if publish != nil {
		if _, err := pc.AddTrack(publish); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { c.tracks <- tr })
	if c.peer, err = room.Join(name, c.sig); err != nil {
		t.Fatalf("join %s: %v", name, err)
	}
	go c.answerLoop()
	return c
}

func (c *transportClient) answerLoop() {
	for {
		select {
		case <-c.done:
			return
		case sdp := <-c.sig.offers:
			if err := c.answer(sdp); err != nil {
				c.t.Logf("answer (ends the loop): %v", err)
				return
			}
		}
	}
}

func (c *transportClient) answer(sdp string) error {
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return err
	}
	ans, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(ans); err != nil {
		return err
	}
	select {
	case <-gathered:
	case <-c.done:
		return nil
	}
	return c.peer.Answer(c.pc.LocalDescription().SDP)
}

func (c *transportClient) close() {
	select {
	case <-c.done:
	default:
		close(c.done)
		_ = c.pc.Close()
	}
}

// receive waits for the track of participant from and reads n packets.
func (c *transportClient) receive(from string, n int) {
	c.t.Helper()
	deadline := time.After(testTimeout)
	for {
		select {
		case tr := <-c.tracks:
			if tr.StreamID() != from {
				continue
			}
			got := make(chan error, 1)
			go func() {
				for i := 0; i < n; i++ {
					if _, _, err := tr.ReadRTP(); err != nil {
						got <- err
						return
					}
				}
				got <- nil
			}()
			select {
			case err := <-got:
				if err != nil {
					c.t.Fatalf("read rtp from %s: %v", from, err)
				}
				return
			case <-deadline:
				c.t.Fatalf("fewer than %d packets from %s", n, from)
			}
		case <-deadline:
			c.t.Fatalf("no track from %s", from)
		}
	}
}

// selectedPair returns the client's selected ICE candidate pair.
func (c *transportClient) selectedPair() *webrtc.ICECandidatePair {
	c.t.Helper()
	for _, r := range c.pc.GetReceivers() {
		if tr := r.Transport(); tr != nil {
			if p, err := tr.ICETransport().GetSelectedCandidatePair(); err == nil && p != nil {
				return p
			}
		}
	}
	c.t.Fatal("no selected candidate pair")
	return nil
}

// talk joins a publisher and a listener through clients made by join, checks
// that the listener hears the publisher, and returns both.
func talk(t *testing.T, room *Room, join func(name string, publish webrtc.TrackLocal) *transportClient) (a, b *transportClient) {
	t.Helper()
	mic, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "a")
	if err != nil {
		t.Fatal(err)
	}
	a = join("Ann", mic)
	b = join("Bob", nil)
	stop := make(chan struct{})
	defer close(stop)
	go pace(stop, func() { _ = mic.WriteSample(media.Sample{Data: silence, Duration: 20 * time.Millisecond}) })
	b.receive(a.peer.ID(), 25)
	return a, b
}

var udpOnly = []webrtc.NetworkType{webrtc.NetworkTypeUDP4}

// With a shared UDP port every participant's media reaches the server on
// that one port.
func TestICEOneUDPPort(t *testing.T) {
	tr, err := NewTransport(TransportConfig{UDPListen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	port := tr.UDPAddrs()[0].(*net.UDPAddr).Port
	m, err := NewManager(Config{ICEIPs: []string{"127.0.0.1"}, Transport: tr}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	room := m.Room("one-port")
	a, b := talk(t, room, func(name string, pub webrtc.TrackLocal) *transportClient {
		return joinVia(t, room, name, udpOnly, webrtc.Configuration{}, pub)
	})
	for _, c := range []*transportClient{a, b} {
		p := c.selectedPair()
		if int(p.Remote.Port) != port || p.Remote.Protocol != webrtc.ICEProtocolUDP {
			t.Errorf("%s: server side of the pair: got %s %s:%d, want udp port %d", c.peer.ID(), p.Remote.Protocol, p.Remote.Address, p.Remote.Port, port)
		}
	}
	if got := m.ICEServers(); len(got) != 0 {
		t.Errorf("ICE servers without TURN: got %v, want none", got)
	}
}

// A client that may only use TCP connects through ICE-TCP.
func TestICETCP(t *testing.T) {
	tr, err := NewTransport(TransportConfig{UDPListen: "127.0.0.1:0", TCPListen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	m, err := NewManager(Config{ICEIPs: []string{"127.0.0.1"}, Transport: tr}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	room := m.Room("tcp")
	tcpOnly := []webrtc.NetworkType{webrtc.NetworkTypeTCP4}
	a, b := talk(t, room, func(name string, pub webrtc.TrackLocal) *transportClient {
		return joinVia(t, room, name, tcpOnly, webrtc.Configuration{}, pub)
	})
	port := tr.TCPAddr().(*net.TCPAddr).Port
	for _, c := range []*transportClient{a, b} {
		p := c.selectedPair()
		if p.Remote.Protocol != webrtc.ICEProtocolTCP || int(p.Remote.Port) != port {
			t.Errorf("%s: server side of the pair: got %s %s:%d, want tcp port %d", c.peer.ID(), p.Remote.Protocol, p.Remote.Address, p.Remote.Port, port)
		}
	}
}

// A client that may only use relay candidates reaches the room through the
// embedded TURN server, with the credentials the server hands out.
func TestTURNRelayOnly(t *testing.T) {
	tr, err := NewTransport(TransportConfig{ICEIPs: []string{"127.0.0.1"}, UDPListen: "127.0.0.1:0",
		TURN: TURNConfig{Listen: "127.0.0.1:0", PublicIP: "127.0.0.1", Secret: "test-secret"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	m, err := NewManager(Config{ICEIPs: []string{"127.0.0.1"}, Transport: tr}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	servers := m.ICEServers()
	if len(servers) != 1 || len(servers[0].URLs) != 2 || !strings.HasPrefix(servers[0].URLs[0], "turn:127.0.0.1:") {
		t.Fatalf("ICE servers: got %+v, want one TURN server with a udp and a tcp URL", servers)
	}
	for _, tc := range []struct {
		name string
		url  string
	}{{"udp", servers[0].URLs[0]}, {"tcp", servers[0].URLs[1]}} {
		t.Run(tc.name, func(t *testing.T) {
			room := m.Room("relay-" + tc.name)
			conf := webrtc.Configuration{ICETransportPolicy: webrtc.ICETransportPolicyRelay,
				ICEServers: []webrtc.ICEServer{{URLs: []string{tc.url}, Username: servers[0].Username,
					Credential: servers[0].Credential}}}
			a, b := talk(t, room, func(name string, pub webrtc.TrackLocal) *transportClient {
				return joinVia(t, room, name, []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4}, conf, pub)
			})
			for _, c := range []*transportClient{a, b} {
				if p := c.selectedPair(); p.Local.Typ != webrtc.ICECandidateTypeRelay {
					t.Errorf("%s: client side of the pair: got %s, want relay", c.peer.ID(), p.Local.Typ)
				}
			}
		})
	}
}

// Wrong credentials get no relay: the client never connects.
func TestTURNRejectsBadCredentials(t *testing.T) {
	tr, err := NewTransport(TransportConfig{ICEIPs: []string{"127.0.0.1"},
		TURN: TURNConfig{Listen: "127.0.0.1:0", PublicIP: "127.0.0.1", Secret: "test-secret"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	good := tr.ICEServers()[0]
	expiredUser, expiredPass := restCredentials("test-secret", "x", time.Now().Add(-time.Minute))
	_, wrong := restCredentials("other-secret", "x", time.Now().Add(time.Hour))
	for _, tc := range []struct{ name, user, pass string }{
		{"expired", expiredUser, expiredPass},
		{"wrong secret", good.Username, wrong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			me := &webrtc.MediaEngine{}
			if err := me.RegisterDefaultCodecs(); err != nil {
				t.Fatal(err)
			}
			pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{
				ICETransportPolicy: webrtc.ICETransportPolicyRelay,
				ICEServers:         []webrtc.ICEServer{{URLs: good.URLs[:1], Username: tc.user, Credential: tc.pass}}})
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
				t.Fatal(err)
			}
			offer, err := pc.CreateOffer(nil)
			if err != nil {
				t.Fatal(err)
			}
			gathered := webrtc.GatheringCompletePromise(pc)
			if err := pc.SetLocalDescription(offer); err != nil {
				t.Fatal(err)
			}
			select {
			case <-gathered:
			case <-time.After(testTimeout):
				t.Fatal("gathering never completed")
			}
			if sdp := pc.LocalDescription().SDP; strings.Contains(sdp, "typ relay") {
				t.Errorf("got a relay candidate with bad credentials:\n%s", sdp)
			}
		})
	}
}

func TestRelayPeersOnlyOwnAddresses(t *testing.T) {
	allow, err := relayPeers(TransportConfig{ICEIPs: []string{"127.0.0.1"}, PublicIP: "203.0.113.7"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ip   string
		want bool
	}{{"127.0.0.1", true}, {"203.0.113.7", true}, {"127.0.0.2", false}, {"10.1.2.3", false}, {"::1", false}} {
		if got := allow(nil, net.ParseIP(tc.ip)); got != tc.want {
			t.Errorf("relay to %s: got %v, want %v", tc.ip, got, tc.want)
		}
	}
}

func TestNewTransportErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  TransportConfig
		want string
	}{
		{"udp port 0 on every address", TransportConfig{UDPListen: ":0"}, "name an IP or a port"},
		{"udp bad port", TransportConfig{UDPListen: "127.0.0.1:x"}, "ice udp"},
		{"turn without secret", TransportConfig{TURN: TURNConfig{Listen: "127.0.0.1:0", PublicIP: "127.0.0.1"}}, "no shared secret"},
		{"turn without public ip", TransportConfig{TURN: TURNConfig{Listen: "127.0.0.1:0", Secret: "s"}}, "public ip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := NewTransport(tc.cfg, nil)
			if err == nil {
				_ = tr.Close()
				t.Fatalf("got nil error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// An ICE restart gives the client new server credentials; media keeps
// flowing and the participant never leaves the room.
func TestRestartICE(t *testing.T) {
	tr, err := NewTransport(TransportConfig{UDPListen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	m, err := NewManager(Config{ICEIPs: []string{"127.0.0.1"}, Transport: tr}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	room := m.Room("restart")
	mic, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "a")
	if err != nil {
		t.Fatal(err)
	}
	a := joinVia(t, room, "Ann", udpOnly, webrtc.Configuration{}, mic)
	b := joinVia(t, room, "Bob", udpOnly, webrtc.Configuration{}, nil)
	stop := make(chan struct{})
	defer close(stop)
	go pace(stop, func() { _ = mic.WriteSample(media.Sample{Data: silence, Duration: 20 * time.Millisecond}) })
	b.receive(a.peer.ID(), 10)
	before := remoteUfrag(t, b.pc)

	deadline := time.Now().Add(testTimeout)
	for {
		err := b.peer.RestartICE()
		if err == nil {
			break
		}
		if !errors.Is(err, ErrNegotiating) || time.Now().After(deadline) {
			t.Fatalf("restart ice: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // poll: an offer for Ann's track may still be out
	}
	for remoteUfrag(t, b.pc) == before {
		if time.Now().After(deadline) {
			t.Fatal("the client never got new ICE credentials")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for b.pc.ICEConnectionState() != webrtc.ICEConnectionStateConnected {
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: ICE state %s, want connected", b.pc.ICEConnectionState())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var got *webrtc.TrackRemote
	for _, r := range b.pc.GetReceivers() {
		if tr := r.Track(); tr != nil && tr.StreamID() == a.peer.ID() {
			got = tr
		}
	}
	if got == nil {
		t.Fatal("Ann's track is gone after the restart")
	}
	for i := 0; i < 25; i++ { // media still flows on the restarted connection
		if _, _, err := got.ReadRTP(); err != nil {
			t.Fatalf("read after restart: %v", err)
		}
	}
	for _, p := range room.Roster().Participants {
		if p.ID == b.peer.ID() {
			return
		}
	}
	t.Error("Bob left the room during the ICE restart")
}

// remoteUfrag returns the ICE user name fragment of the client's remote
// (server) description.
func remoteUfrag(t *testing.T, pc *webrtc.PeerConnection) string {
	t.Helper()
	d := pc.CurrentRemoteDescription()
	if d == nil {
		return ""
	}
	for _, l := range strings.Split(d.SDP, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}

func TestTransportCloseEndsItsGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	tr, err := NewTransport(TransportConfig{ICEIPs: []string{"127.0.0.1"}, UDPListen: "127.0.0.1:0", TCPListen: "127.0.0.1:0",
		TURN: TURNConfig{Listen: "127.0.0.1:0", PublicIP: "127.0.0.1", Secret: "s", RelayPortMin: 40000, RelayPortMax: 40100}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.UDPAddrs()) != 1 || tr.TCPAddr() == nil || len(tr.ICEServers()) != 1 {
		t.Errorf("got udp %v, tcp %v, ice servers %v; want one of each", tr.UDPAddrs(), tr.TCPAddr(), tr.ICEServers())
	}
	if err := tr.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	waitGoroutines(t, base)
}

func TestAllocationQuota(t *testing.T) {
	q := newAllocationQuota(2)
	a := &net.UDPAddr{IP: net.ParseIP("192.0.2.1"), Port: 5000}
	b := &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 6000} // same IP over TCP
	c := &net.UDPAddr{IP: net.ParseIP("192.0.2.2"), Port: 5000}
	for i, step := range []struct {
		do   func()
		src  net.Addr
		want bool
	}{
		{func() {}, a, true},
		{func() { q.created(a, nil, "", "", "", nil, 0) }, b, true},
		{func() { q.created(b, nil, "", "", "", nil, 0) }, a, false},
		{func() {}, c, true},
		{func() { q.deleted(a, nil, "", "", "") }, b, true},
	} {
		step.do()
		if got := q.allow("", "", step.src); got != step.want {
			t.Errorf("step %d: allow %v: got %v, want %v", i, step.src, got, step.want)
		}
	}
}
