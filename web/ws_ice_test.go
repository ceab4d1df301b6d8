package web

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"dialroom/sfu"
)

// iceOffer is an offer as the browser sees it, with its ICE servers.
type iceOffer struct {
	Type       string `json:"type"`
	SDP        string `json:"sdp"`
	ICEServers []struct {
		URLs       []string `json:"urls"`
		Username   string   `json:"username"`
		Credential string   `json:"credential"`
	} `json:"iceServers"`
}

func (c *wsClient) nextOffer() iceOffer {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(wsTimeout))
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.t.Fatalf("waiting for an offer: %v", err)
		}
		var o iceOffer
		if json.Unmarshal(data, &o) == nil && o.Type == "offer" {
			return o
		}
	}
}

func sdpUfrag(sdp string) string {
	for _, l := range strings.Split(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}

// Offers carry the TURN server with credentials, and restart_ice gets an
// offer with new ICE credentials without leaving the room.
func TestWSICEServersAndRestart(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	tr, err := sfu.NewTransport(sfu.TransportConfig{ICEIPs: []string{"127.0.0.1"},
		TURN: sfu.TURNConfig{Listen: "127.0.0.1:0", PublicIP: "127.0.0.1", Secret: "test"}}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	mgr, err := sfu.NewManager(sfu.Config{ICEIPs: []string{"127.0.0.1"}, Transport: tr}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{}, testRooms, mgr, log))
	defer func() {
		srv.Close()
		_ = mgr.Close()
	}()
	c, _, err := dialWS(t, srv.URL, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]string{"type": "join", "room": "demo", "name": "Ann"})
	first := c.nextOffer()
	if len(first.ICEServers) != 1 || !strings.HasPrefix(first.ICEServers[0].URLs[0], "turn:127.0.0.1:") ||
		first.ICEServers[0].Username == "" || first.ICEServers[0].Credential == "" {
		t.Fatalf("offer ICE servers: got %+v, want the TURN server with credentials", first.ICEServers)
	}

	pc, err := loopbackAPI().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	answer := func(sdp string) {
		t.Helper()
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
			t.Fatal(err)
		}
		ans, err := pc.CreateAnswer(nil)
		if err != nil {
			t.Fatal(err)
		}
		gathered := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(ans); err != nil {
			t.Fatal(err)
		}
		<-gathered
		c.send(map[string]string{"type": "answer", "sdp": pc.LocalDescription().SDP})
	}
	answer(first.SDP)
	c.send(map[string]string{"type": "restart_ice"})
	again := c.nextOffer()
	if a, b := sdpUfrag(first.SDP), sdpUfrag(again.SDP); a == "" || a == b {
		t.Errorf("ice-ufrag after restart_ice: got %q, had %q; want a new one", b, a)
	}
	answer(again.SDP)
	deadline := time.Now().Add(wsTimeout)
	for pc.ICEConnectionState() != webrtc.ICEConnectionStateConnected {
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: ICE state %s, want connected", pc.ICEConnectionState())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(mgr.Room("demo").Roster().Participants); n != 1 {
		t.Errorf("participants after the restart: got %d, want 1", n)
	}
}
