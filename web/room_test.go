package web

import (
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"dialroom/sfu"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// newModServer is newTestServer with moderator links enabled.
func newModServer(t *testing.T) (*httptest.Server, *sfu.Manager) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	mgr, err := sfu.NewManager(sfu.Config{ICEIPs: []string{"127.0.0.1"}}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{ModSecret: testSecret}, testRooms, mgr, log))
	t.Cleanup(func() {
		srv.Close()
		_ = mgr.Close()
	})
	return srv, mgr
}

// joinAs connects and joins the demo room; it returns the client and its
// joined message. It never answers offers: chat and moderation need no media.
func joinAs(t *testing.T, srv *httptest.Server, name, mod string) (*wsClient, message) {
	t.Helper()
	c, _, err := dialWS(t, srv.URL, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.send(joinMsg{Type: "join", Room: "demo", Name: name, Mod: mod})
	return c, c.next("joined")
}

// waitClosed reads until the server closes the connection normally.
func waitClosed(t *testing.T, c *wsClient) {
	t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(wsTimeout))
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				t.Errorf("got %v, want a normal close", err)
			}
			return
		}
	}
}

func TestModeratorToken(t *testing.T) {
	tok := ModeratorToken(testSecret, "demo")
	tests := []struct {
		secret      []byte
		slug, token string
		want        bool
	}{
		{testSecret, "demo", tok, true},
		{testSecret, "other", tok, false},
		{testSecret, "demo", tok[:len(tok)-1], false},
		{testSecret, "demo", "", false},
		{nil, "demo", ModeratorToken(nil, "demo"), false},
		{[]byte("another secret another secret!!!"), "demo", tok, false},
	}
	for i, tt := range tests {
		if got := validModeratorToken(tt.secret, tt.slug, tt.token); got != tt.want {
			t.Errorf("case %d: valid = %v, want %v", i, got, tt.want)
		}
	}
}

func TestLoadOrCreateSecret(t *testing.T) {
	path := t.TempDir() + "/moderator.key"
	a, err := LoadOrCreateSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreateSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != secretSize || string(a) != string(b) {
		t.Errorf("secret: got %d bytes, second load equal = %v; want %d bytes, equal", len(a), string(a) == string(b), secretSize)
	}
}

func TestWSChat(t *testing.T) {
	srv, _ := newModServer(t)
	a, ja := joinAs(t, srv, "Ann", "")
	b, jb := joinAs(t, srv, "Bob", "")
	a.send(chatSendMsg{Type: "chat", Text: "hello room"})
	for _, c := range []*wsClient{a, b} {
		if m := c.next("chat"); m.Text != "hello room" || m.From != ja.ID || m.To != "" {
			t.Errorf("room chat: got %+v", m)
		}
	}
	b.send(chatSendMsg{Type: "chat", To: ja.ID, Text: "just you"})
	for _, c := range []*wsClient{a, b} {
		if m := c.next("chat"); m.Text != "just you" || m.From != jb.ID || m.To != ja.ID {
			t.Errorf("private chat: got %+v", m)
		}
	}
	a.send(chatSendMsg{Type: "chat", Text: " "})
	if e := a.next("error"); e.Code != codeBadChat {
		t.Errorf("empty chat: got %q, want %q", e.Code, codeBadChat)
	}
	a.send(chatSendMsg{Type: "chat", To: "web-nobody", Text: "x"})
	if e := a.next("error"); e.Code != codeNoParticipant {
		t.Errorf("chat to nobody: got %q, want %q", e.Code, codeNoParticipant)
	}
	_, jc := joinAs(t, srv, "Cay", "")
	if len(jc.History) != 1 || jc.History[0].Text != "hello room" {
		t.Errorf("late joiner history: got %+v, want only the room message", jc.History)
	}
	b.send(handMsg{Type: "hand", Raised: true})
	ro := a.next("roster")
	for !hasHand(ro, jb.ID) {
		ro = a.next("roster")
	}
	b.send(shareMsg{Type: "share", On: true})
	for ro = a.next("roster"); !isSharing(ro, jb.ID); ro = a.next("roster") {
	}
}

func isSharing(m message, id string) bool {
	for _, p := range m.Participants {
		if p.ID == id && p.Sharing {
			return true
		}
	}
	return false
}

func hasHand(m message, id string) bool {
	for _, p := range m.Participants {
		if p.ID == id && p.Hand {
			return true
		}
	}
	return false
}

func TestWSModeration(t *testing.T) {
	srv, _ := newModServer(t)
	mod, jm := joinAs(t, srv, "Mod", ModeratorToken(testSecret, "demo"))
	usr, ju := joinAs(t, srv, "Usr", "") // a wrong link is refused: TestJoinLinksOverWS
	if jm.Role != sfu.RoleModerator || ju.Role != sfu.RoleParticipant {
		t.Fatalf("roles: got %q and %q, want moderator and participant", jm.Role, ju.Role)
	}
	usr.send(moderateMsg{Type: "moderate", Action: modMute, Target: jm.ID})
	if e := usr.next("error"); e.Code != codeForbidden {
		t.Errorf("participant mutes moderator: got %q, want %q", e.Code, codeForbidden)
	}
	mod.send(moderateMsg{Type: "moderate", Action: "dance", Target: ju.ID})
	if e := mod.next("error"); e.Code != codeBadMessage {
		t.Errorf("unknown action: got %q, want %q", e.Code, codeBadMessage)
	}
	mod.send(moderateMsg{Type: "moderate", Action: modMute, Target: ju.ID})
	if m := usr.next("control"); m.Action != sfu.ControlMute || m.By != "Mod" {
		t.Errorf("mute: got %+v, want control mute by Mod", m)
	}
	mod.send(moderateMsg{Type: "moderate", Action: modLock})
	for ro := mod.next("roster"); !ro.Locked; ro = mod.next("roster") {
	}
	late, _, err := dialWS(t, srv.URL, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	late.send(joinMsg{Type: "join", Room: "demo", Name: "Late"})
	if e := late.next("error"); e.Code != codeRoomLocked {
		t.Errorf("join locked room: got %q, want %q", e.Code, codeRoomLocked)
	}
	waitClosed(t, late)
	mod.send(moderateMsg{Type: "moderate", Action: modRemove, Target: ju.ID})
	if m := usr.next("control"); m.Action != sfu.ControlRemoved {
		t.Errorf("remove: got %+v, want control removed", m)
	}
	waitClosed(t, usr)
	mod.send(moderateMsg{Type: "moderate", Action: modEnd})
	if m := mod.next("control"); m.Action != sfu.ControlEnded {
		t.Errorf("end: got %+v, want control ended", m)
	}
	waitClosed(t, mod)
}
