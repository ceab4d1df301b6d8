package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"dialroom/dialplan"
	"dialroom/sfu"
)

// lobbyMessage is a server message with the lobby fields.
type lobbyMessage struct {
	message
	State     string           `json:"state"`
	Moderator bool             `json:"moderator"`
	Waiting   []sfu.LobbyGuest `json:"waiting"`
}

// lobbyWS dials the signalling endpoint with the session cookie (may be
// "") and sends a join with the link token (may be "").
func lobbyWS(t *testing.T, srv *httptest.Server, name, token, session string) *wsClient {
	t.Helper()
	return dialJoin(t, srv, "demo", name, token, session)
}

// dialJoin opens the signalling socket with the session cookie (may be
// "") and sends a join of room as name with the link token (may be "").
func dialJoin(t *testing.T, srv *httptest.Server, room, name, token, session string) *wsClient {
	t.Helper()
	h := http.Header{"Origin": {srv.URL}}
	if session != "" {
		h.Set("Cookie", (&http.Cookie{Name: adminCookie, Value: session}).String())
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	c := &wsClient{t: t, ws: ws}
	c.send(joinMsg{Type: "join", Room: room, Name: name, Mod: token})
	return c
}

// nextLobby reads until a message of type typ for which ok holds (nil: any)
// and returns it with the types of the messages read before it.
func nextLobby(c *wsClient, typ string, ok func(lobbyMessage) bool) (lobbyMessage, []string) {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(wsTimeout))
	var seen []string
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v (read before: %v)", typ, err, seen)
		}
		var m lobbyMessage
		if err := json.Unmarshal(data, &m); err != nil {
			c.t.Fatalf("server sent bad JSON %q: %v", data, err)
		}
		if m.Type == typ && (ok == nil || ok(m)) {
			return m, seen
		}
		seen = append(seen, m.Type)
	}
}

// waitingNames returns a predicate on lobby_list messages: the waiting
// guests are exactly names, in order.
func waitingNames(names ...string) func(lobbyMessage) bool {
	return func(m lobbyMessage) bool {
		got := []string{}
		for _, g := range m.Waiting {
			got = append(got, g.Name)
		}
		return slices.Equal(got, names)
	}
}

// guestID returns the lobby ID of the waiting guest name in m.
func guestID(t *testing.T, m lobbyMessage, name string) string {
	t.Helper()
	for _, g := range m.Waiting {
		if g.Name == name {
			return g.ID
		}
	}
	t.Fatalf("%s not in lobby list %+v", name, m.Waiting)
	return ""
}

// TestLobby: in a lobby room an anonymous guest waits and gets nothing
// from the room; the moderator sees them and admits them, and the guest
// then joins and gets the roster. A participant may not admit; a denied
// guest is told and disconnected; a guest who leaves drops off the list;
// link holders and signed-in users skip the lobby.
func TestLobby(t *testing.T) {
	srv, store, admin := newScopeServer(t)
	if err := store.SetRoomAccess(context.Background(), "demo", dialplan.AccessLobby); err != nil {
		t.Fatal(err)
	}
	mod := lobbyWS(t, srv, "Mia", ModeratorToken(testSecret, "demo"), "")
	if m, _ := nextLobby(mod, "joined", nil); m.Role != sfu.RoleModerator {
		t.Fatalf("moderator link: got role %q", m.Role)
	}
	part := lobbyWS(t, srv, "Pia", makeLink(t, srv, admin, "demo", `{"role":"participant"}`), "")
	if m, _ := nextLobby(part, "joined", nil); m.Role != sfu.RoleParticipant {
		t.Fatalf("participant link: got role %q, want to skip the lobby as participant", m.Role)
	}
	uma := lobbyWS(t, srv, "Uma", "", signIn(t, srv, "uma"))
	nextLobby(uma, "joined", nil)

	// The guest waits; the moderator sees them, the participant does not.
	ann := lobbyWS(t, srv, "Ann", "", "")
	if m, seen := nextLobby(ann, "lobby", nil); m.State != sfu.LobbyWaiting || !m.Moderator || len(seen) != 0 {
		t.Fatalf("guest: got %+v after %v, want waiting with a moderator present", m, seen)
	}
	list, _ := nextLobby(mod, "lobby_list", waitingNames("Ann"))
	annID := guestID(t, list, "Ann")

	// Nothing from the room reaches the waiting guest.
	mod.send(chatSendMsg{Type: "chat", Text: "not for the lobby"})
	nextLobby(mod, "chat", nil)
	ann.send(chatSendMsg{Type: "chat", Text: "let me in"})
	if m, seen := nextLobby(ann, "error", nil); m.Code != codeNotJoined || len(seen) != 0 {
		t.Errorf("waiting guest chats: got %+v after %v, want only not_joined", m, seen)
	}
	ann.send(admitMsg{Type: "admit", ID: annID})
	if m, _ := nextLobby(ann, "error", nil); m.Code != codeNotJoined {
		t.Errorf("waiting guest admits itself: got %+v, want not_joined", m)
	}
	ann.send(joinMsg{Type: "join", Room: "demo", Name: "Ann"})
	if m, _ := nextLobby(ann, "error", nil); m.Code != codeWaiting {
		t.Errorf("waiting guest joins again: got %+v, want %s", m, codeWaiting)
	}

	// Only moderators admit.
	part.send(admitMsg{Type: "admit", ID: annID})
	if m, _ := nextLobby(part, "error", nil); m.Code != codeForbidden {
		t.Errorf("participant admits: got %+v, want %s", m, codeForbidden)
	}
	mod.send(admitMsg{Type: "admit", ID: "guest-nobody"})
	if m, _ := nextLobby(mod, "error", nil); m.Code != codeNoGuest {
		t.Errorf("admit unknown guest: got %+v, want %s", m, codeNoGuest)
	}
	mod.send(admitMsg{Type: "admit"})
	if m, _ := nextLobby(mod, "error", nil); m.Code != codeBadMessage {
		t.Errorf("admit without id: got %+v, want %s", m, codeBadMessage)
	}

	// Admitted, the guest joins again and is in the room.
	mod.send(admitMsg{Type: "admit", ID: annID})
	if m, seen := nextLobby(ann, "lobby", nil); m.State != sfu.LobbyAdmitted || slices.Contains(seen, "roster") {
		t.Fatalf("admitted guest: got %+v after %v", m, seen)
	}
	nextLobby(mod, "lobby_list", waitingNames())
	ann.send(joinMsg{Type: "join", Room: "demo", Name: "Boss"})
	joined, _ := nextLobby(ann, "joined", nil)
	names := []string{}
	for _, p := range joined.Participants {
		names = append(names, p.Name)
	}
	if joined.Role != sfu.RoleParticipant || !slices.Contains(names, "Mia") || !slices.Contains(names, "Ann") || slices.Contains(names, "Boss") {
		t.Errorf("admitted guest joined: role %q, roster %v; want participant with Mia and Ann", joined.Role, names)
	}

	// Denied: told, then disconnected.
	bo := lobbyWS(t, srv, "Bo", "", "")
	nextLobby(bo, "lobby", nil)
	list, _ = nextLobby(mod, "lobby_list", waitingNames("Bo"))
	mod.send(denyMsg{Type: "deny", ID: guestID(t, list, "Bo")})
	if m, _ := nextLobby(bo, "lobby", nil); m.State != sfu.LobbyDenied {
		t.Errorf("denied guest: got %+v", m)
	}
	_ = bo.ws.SetReadDeadline(time.Now().Add(wsTimeout))
	for {
		if _, _, err := bo.ws.ReadMessage(); err != nil {
			break // closed by the server
		}
	}
	nextLobby(mod, "lobby_list", waitingNames())

	// A guest who goes away drops off the list.
	cy := lobbyWS(t, srv, "Cy", "", "")
	nextLobby(cy, "lobby", nil)
	nextLobby(mod, "lobby_list", waitingNames("Cy"))
	_ = cy.ws.Close()
	nextLobby(mod, "lobby_list", waitingNames())
}

// TestLobbyWithoutModerator: with no moderator in the room a guest keeps
// waiting and is told so; when a moderator arrives the guest is told and
// the moderator gets the list; admit all lets everyone in.
func TestLobbyWithoutModerator(t *testing.T) {
	srv, store, _ := newScopeServer(t)
	if err := store.SetRoomAccess(context.Background(), "demo", dialplan.AccessLobby); err != nil {
		t.Fatal(err)
	}
	dee := lobbyWS(t, srv, "Dee", "", "")
	if m, _ := nextLobby(dee, "lobby", nil); m.State != sfu.LobbyWaiting || m.Moderator {
		t.Fatalf("guest in an empty room: got %+v, want waiting without a moderator", m)
	}
	eve := lobbyWS(t, srv, "Eve", "", "")
	nextLobby(eve, "lobby", nil)

	mod := lobbyWS(t, srv, "Max", "", signIn(t, srv, "max"))
	nextLobby(mod, "lobby_list", waitingNames("Dee", "Eve"))
	for _, g := range []*wsClient{dee, eve} {
		if m, _ := nextLobby(g, "lobby", nil); m.State != sfu.LobbyWaiting || !m.Moderator {
			t.Errorf("moderator arrived: guest got %+v, want waiting with a moderator", m)
		}
	}
	mod.send(admitMsg{Type: "admit", All: true})
	for _, g := range []*wsClient{dee, eve} {
		if m, _ := nextLobby(g, "lobby", nil); m.State != sfu.LobbyAdmitted {
			t.Errorf("admit all: guest got %+v", m)
		}
		g.send(joinMsg{Type: "join", Room: "demo", Name: "x"})
		if m, _ := nextLobby(g, "joined", nil); m.Role != sfu.RoleParticipant {
			t.Errorf("admitted guest: got role %q", m.Role)
		}
	}
	nextLobby(mod, "lobby_list", waitingNames())

	// The moderator leaves: a new guest waits without one.
	mod.send(leaveMsg{Type: "leave"})
	fay := lobbyWS(t, srv, "Fay", "", "")
	if m, _ := nextLobby(fay, "lobby", func(m lobbyMessage) bool { return !m.Moderator }); m.State != sfu.LobbyWaiting {
		t.Errorf("after the moderator left: got %+v", m)
	}
}
