package web

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"dialroom/sfu"
)

const wsTimeout = 15 * time.Second

// wsClient is a signalling client as a test sees it.
type wsClient struct {
	t  *testing.T
	ws *websocket.Conn
	mu sync.Mutex // gorilla allows one writer at a time
}

func dialWS(t *testing.T, srvURL string, origin string) (*wsClient, *http.Response, error) {
	t.Helper()
	u := "ws" + strings.TrimPrefix(srvURL, "http") + "/ws"
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	ws, resp, err := websocket.DefaultDialer.Dial(u, h)
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { _ = ws.Close() })
	return &wsClient{t: t, ws: ws}, resp, nil
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ws.WriteJSON(v); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *wsClient) sendRaw(s string) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// message is any server message, decoded loosely.
type message struct {
	Type         string            `json:"type"`
	ID           string            `json:"id"`
	SDP          string            `json:"sdp"`
	Code         string            `json:"code"`
	Rev          uint64            `json:"rev"`
	Participants []sfu.Participant `json:"participants"`
	Speaking     bool              `json:"speaking"`
	Role         string            `json:"role"`
	Locked       bool              `json:"locked"`
	History      []sfu.ChatMessage `json:"history"`
	Action       string            `json:"action"`
	By           string            `json:"by"`
	Text         string            `json:"text"`
	From         string            `json:"from"`
	To           string            `json:"to"`
}

// next reads messages until one has type typ.
func (c *wsClient) next(typ string) message {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(wsTimeout))
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", typ, err)
		}
		var m message
		if err := json.Unmarshal(data, &m); err != nil {
			c.t.Fatalf("server sent bad JSON %q: %v", data, err)
		}
		if m.Type == typ {
			return m
		}
	}
}

func TestWSOrigin(t *testing.T) {
	srv, _ := newTestServer(t)
	for _, origin := range []string{"", "http://evil.example", "null"} {
		_, resp, err := dialWS(t, srv.URL, origin)
		if err == nil {
			t.Errorf("origin %q: got a connection, want a refusal", origin)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: got %v, want 403", origin, resp)
		}
	}
}

func TestWSErrors(t *testing.T) {
	srv, _ := newTestServer(t)
	c, _, err := dialWS(t, srv.URL, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		send string
		code string
	}{
		{`{not json`, codeBadMessage},
		{`[1,2]`, codeBadMessage},
		{`{"type":"nope"}`, codeBadMessage},
		{`{"type":"join","room":5}`, codeBadMessage},
		{`{"type":"answer","sdp":"v=0"}`, codeNotJoined},
		{`{"type":"candidate","candidate":{"candidate":"x"}}`, codeNotJoined},
		{`{"type":"join","room":"unknown","name":"Ann"}`, codeRoomNotFound},
		{`{"type":"join","room":"../x","name":"Ann"}`, codeRoomNotFound},
		{`{"type":"join","room":"demo","name":""}`, codeInvalidName},
		{`{"type":"join","room":"demo","name":"a\u0000b"}`, codeInvalidName},
	}
	for _, tt := range tests {
		c.sendRaw(tt.send)
		if got := c.next("error"); got.Code != tt.code {
			t.Errorf("%s: got error %q, want %q", tt.send, got.Code, tt.code)
		}
	}
	// The connection is still usable: a valid join works.
	c.send(joinMsg{Type: "join", Room: "demo", Name: "Ann"})
	if got := c.next("joined"); got.ID == "" {
		t.Error("joined after errors: got an empty ID")
	}
	c.send(joinMsg{Type: "join", Room: "demo", Name: "Ann"})
	if got := c.next("error"); got.Code != codeAlreadyJoined {
		t.Errorf("second join: got %q, want %q", got.Code, codeAlreadyJoined)
	}
}

func TestWSTooLarge(t *testing.T) {
	srv, _ := newTestServer(t)
	c, _, err := dialWS(t, srv.URL, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.sendRaw(`{"type":"join","name":"` + strings.Repeat("x", wsReadLimit) + `"}`)
	_ = c.ws.SetReadDeadline(time.Now().Add(wsTimeout))
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("oversized message: connection stayed open, want it closed")
			}
			return
		}
	}
}

func loopbackAPI() *webrtc.API {
	me := &webrtc.MediaEngine{}
	_ = me.RegisterDefaultCodecs()
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
}

func TestWSJoinNegotiates(t *testing.T) {
	srv, mgr := newTestServer(t)
	pc, err := loopbackAPI().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	mic, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "me")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(mic); err != nil {
		t.Fatal(err)
	}
	connected := make(chan struct{})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			close(connected)
		}
	})
	c, _, err := dialWS(t, srv.URL, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand != nil {
			init := cand.ToJSON()
			c.mu.Lock()
			defer c.mu.Unlock()
			_ = c.ws.WriteJSON(candidateMsg{Type: "candidate", Candidate: iceCandidate{Candidate: init.Candidate,
				SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex}})
		}
	})
	c.send(joinMsg{Type: "join", Room: "demo", Name: "Ann"})
	offer := c.next("offer")
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		t.Fatal(err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	c.send(answerMsg{Type: "answer", SDP: answer.SDP})
	joined := c.next("joined")
	if len(joined.Participants) != 1 || joined.Participants[0].ID != joined.ID || joined.Participants[0].Kind != sfu.KindWeb {
		t.Errorf("joined participants: got %+v, want only %s (web)", joined.Participants, joined.ID)
	}
	select {
	case <-connected:
	case <-time.After(wsTimeout):
		t.Fatal("peer connection never connected")
	}
	// Media flows into the room: a phone's Opus reaches us via a renegotiation.
	_ = mic.WriteSample(media.Sample{Data: []byte{0xf8, 0xff, 0xfe}, Duration: 20 * time.Millisecond})
	phone, err := mgr.Room("demo").AddPhone(sfu.PhoneInfo{ID: "phone-x", Label: "Unknown caller"})
	if err != nil {
		t.Fatal(err)
	}
	ro := c.next("roster")
	if len(ro.Participants) != 2 || ro.Participants[1].Kind != sfu.KindPhone {
		t.Errorf("roster after AddPhone: got %+v, want the web participant and the phone", ro.Participants)
	}
	if re := c.next("offer"); !strings.Contains(re.SDP, "phone-x") {
		t.Errorf("renegotiation offer: got no track for phone-x")
	}
	phone.SetSpeaking(true)
	if sp := c.next("speaking"); sp.ID != "phone-x" || !sp.Speaking {
		t.Errorf("speaking: got %+v, want phone-x speaking", sp)
	}
	phone.Leave()
	c.send(leaveMsg{Type: "leave"})
	_ = c.ws.SetReadDeadline(time.Now().Add(wsTimeout))
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				t.Errorf("after leave: got %v, want a normal close", err)
			}
			break
		}
	}
	if n := len(mgr.Room("demo").Roster().Participants); n != 0 {
		t.Errorf("participants after leave: got %d, want 0", n)
	}
}
