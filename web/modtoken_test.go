package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"dialroom/dialplan"
	"dialroom/sfu"
)

func TestJoinLinkTokens(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	p := dialplan.LinkPolicy{Slug: "team", Access: dialplan.AccessOpen, CreatedAt: now.Add(-time.Hour)}
	sign := func(p dialplan.LinkPolicy, role string, exp time.Time) string {
		tok, err := JoinLinkToken(testSecret, p, role, exp)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	mod := sign(p, sfu.RoleModerator, now.Add(time.Hour))
	part := sign(p, sfu.RoleParticipant, time.Time{})
	relinked := p
	relinked.LinkKey = []byte("0123456789abcdef")
	other := p
	other.Slug = "other"
	recreated := p
	recreated.CreatedAt = now
	tampered := []byte(mod)
	tampered[3] ^= 1
	short := base64.RawURLEncoding.EncodeToString(make([]byte, linkTokenSize))
	tests := []struct {
		name    string
		p       dialplan.LinkPolicy
		token   string
		now     time.Time
		want    string
		wantErr error
	}{
		{"moderator", p, mod, now, sfu.RoleModerator, nil},
		{"participant, no expiry", p, part, now.Add(10 * 365 * 24 * time.Hour), sfu.RoleParticipant, nil},
		{"a second before expiry", p, mod, now.Add(time.Hour - time.Second), sfu.RoleModerator, nil},
		{"at expiry", p, mod, now.Add(time.Hour), "", ErrLinkExpired},
		{"other room", other, mod, now, "", ErrLinkInvalid},
		{"room recreated under the same slug", recreated, part, now, "", ErrLinkInvalid},
		{"after relink", relinked, mod, now, "", ErrLinkInvalid},
		{"made after relink", relinked, sign(relinked, sfu.RoleParticipant, time.Time{}), now, sfu.RoleParticipant, nil},
		{"unversioned moderator link", p, ModeratorToken(testSecret, "team"), now, sfu.RoleModerator, nil},
		{"unversioned link after relink", relinked, ModeratorToken(testSecret, "team"), now, "", ErrLinkInvalid},
		{"unversioned link of another room", p, ModeratorToken(testSecret, "other"), now, "", ErrLinkInvalid},
		{"tampered", p, string(tampered), now, "", ErrLinkInvalid},
		{"zeros", p, short, now, "", ErrLinkInvalid},
		{"not base64", p, "!!!", now, "", ErrLinkInvalid},
		{"too long", p, strings.Repeat("A", 200), now, "", ErrLinkInvalid},
	}
	for _, tt := range tests {
		got, err := CheckJoinLink(testSecret, tt.p, tt.token, tt.now)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: got %q, %v; want %q, %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
	if _, err := CheckJoinLink(nil, p, mod, now); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("without a secret: got %v, want ErrLinkInvalid", err)
	}
	if _, err := JoinLinkToken(testSecret, p, "guest", now); err == nil {
		t.Errorf("role guest: got no error")
	}
	if got := JoinLinkPath("team", "a-b_c"); got != "/r/team?mod=a-b_c" {
		t.Errorf("JoinLinkPath: got %q", got)
	}
}

// FuzzCheckJoinLink: a join link from outside never panics and a valid
// answer is always one of the two roles.
func FuzzCheckJoinLink(f *testing.F) {
	p := dialplan.LinkPolicy{Slug: "team", CreatedAt: time.Unix(1, 0)}
	tok, _ := JoinLinkToken(testSecret, p, sfu.RoleModerator, time.Time{})
	f.Add(tok)
	f.Add(ModeratorToken(testSecret, "team"))
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, token string) {
		role, err := CheckJoinLink(testSecret, p, token, time.Unix(2, 0))
		if err == nil && role != sfu.RoleModerator && role != sfu.RoleParticipant {
			t.Errorf("token %q: role %q", token, role)
		}
	})
}

// joinWS joins room over a new WebSocket with the link token (may be "")
// and session cookie (may be ""), and returns the first joined or error
// message.
func joinWS(t *testing.T, srv *httptest.Server, room, token, session string) message {
	t.Helper()
	c := dialJoin(t, srv, room, "Ann", token, session)
	ws := c.ws
	_ = ws.SetReadDeadline(time.Now().Add(wsTimeout))
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for joined or error: %v", err)
		}
		var m message
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("bad JSON %q", data)
		}
		if m.Type == "joined" || m.Type == "error" {
			return m
		}
	}
}

// makeLink asks the admin API for a join link and returns its token.
func makeLink(t *testing.T, srv *httptest.Server, adminToken, room, body string) string {
	t.Helper()
	st, resp := call(t, srv, adminToken, "POST", "/api/v1/rooms/"+room+"/links", body)
	var l apiLink
	if err := json.Unmarshal([]byte(resp), &l); err != nil || st != 201 {
		t.Fatalf("make link %s: got %d %s", body, st, resp)
	}
	u, err := url.Parse(l.Path)
	if err != nil || u.Path != "/r/"+room {
		t.Fatalf("link path %q", l.Path)
	}
	return u.Query().Get("mod")
}

// signIn signs user in through the login form and returns the session ID.
func signIn(t *testing.T, srv *httptest.Server, user string) string {
	t.Helper()
	resp, _ := formPost(t, noRedirect(t), srv.URL+"/login", url.Values{"user": {user}, "password": {user + "-password"}}, srv.URL)
	id := sessionCookieOf(resp)
	if id == "" {
		t.Fatalf("sign in %s: no session", user)
	}
	return id
}

// TestJoinLinksOverWS: links made through the API admit with their role;
// an expired link and a revoked one are refused with their own error
// code, and the connection stays usable.
func TestJoinLinksOverWS(t *testing.T) {
	srv, store, admin := newScopeServer(t)
	mod := makeLink(t, srv, admin, "demo", `{"role":"moderator","expires":"1h"}`)
	part := makeLink(t, srv, admin, "demo", `{"role":"participant"}`)
	if m := joinWS(t, srv, "demo", mod, ""); m.Type != "joined" || m.Role != sfu.RoleModerator {
		t.Errorf("moderator link: got %+v, want joined as moderator", m)
	}
	if m := joinWS(t, srv, "demo", part, ""); m.Type != "joined" || m.Role != sfu.RoleParticipant {
		t.Errorf("participant link: got %+v, want joined as participant", m)
	}
	if m := joinWS(t, srv, "demo", "garbage", ""); m.Code != codeLinkInvalid {
		t.Errorf("garbage link: got %+v, want %s", m, codeLinkInvalid)
	}

	// Expired: signed with the server's secret, a minute in the past.
	p, err := store.RoomLinkPolicy(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	old, err := JoinLinkToken(testSecret, p, sfu.RoleModerator, time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if m := joinWS(t, srv, "demo", old, ""); m.Type != "error" || m.Code != codeLinkExpired {
		t.Errorf("expired link: got %+v, want error %s", m, codeLinkExpired)
	}

	// Revoked: the relink endpoint gives the room a new key.
	legacy := ModeratorToken(testSecret, "demo")
	if st, body := call(t, srv, admin, "POST", "/api/v1/rooms/demo/relink", ""); st != 200 || !strings.Contains(body, `"relinkedAt":`) {
		t.Fatalf("relink: got %d %s", st, body)
	}
	for name, tok := range map[string]string{"moderator": mod, "participant": part, "unversioned moderator": legacy} {
		if m := joinWS(t, srv, "demo", tok, ""); m.Type != "error" || m.Code != codeLinkInvalid {
			t.Errorf("revoked %s link: got %+v, want error %s", name, m, codeLinkInvalid)
		}
	}
	if m := joinWS(t, srv, "demo", makeLink(t, srv, admin, "demo", `{"role":"moderator"}`), ""); m.Role != sfu.RoleModerator {
		t.Errorf("link made after relink: got %+v, want joined as moderator", m)
	}

	// A refused link leaves the connection usable.
	h := http.Header{"Origin": {srv.URL}}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", h)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	c := &wsClient{t: t, ws: ws}
	c.send(joinMsg{Type: "join", Room: "demo", Name: "Bo", Mod: old})
	if m := c.next("error"); m.Code != codeLinkInvalid { // old was signed before the relink
		t.Errorf("old link on a kept connection: got %+v", m)
	}
	c.send(joinMsg{Type: "join", Room: "demo", Name: "Bo"})
	if m := c.next("joined"); m.Role != sfu.RoleParticipant {
		t.Errorf("join without link after a refusal: got %+v", m)
	}

	for _, bad := range []string{`{"role":"guest"}`, `{"role":"moderator","expires":"soon"}`, `{}`} {
		if st, body := call(t, srv, admin, "POST", "/api/v1/rooms/demo/links", bad); st != 400 {
			t.Errorf("link %s: got %d %s, want 400", bad, st, body)
		}
	}
	if st, _ := call(t, srv, admin, "POST", "/api/v1/rooms/nope/links", `{"role":"moderator"}`); st != 404 {
		t.Errorf("link to unknown room: got %d, want 404", st)
	}
	if st, _ := call(t, srv, admin, "POST", "/api/v1/rooms/nope/relink", ""); st != 404 {
		t.Errorf("relink unknown room: got %d, want 404", st)
	}
}

// TestSignedInAccess: a room for signed-in users refuses an anonymous
// browser with sign_in_required and admits a signed-in user, holders of a
// participant or moderator link, and signed-in moderators as moderators.
func TestSignedInAccess(t *testing.T) {
	srv, _, admin := newScopeServer(t)
	part := makeLink(t, srv, admin, "demo", `{"role":"participant","expires":"7d"}`)
	if m := joinWS(t, srv, "demo", "", ""); m.Type != "joined" {
		t.Fatalf("open room, anonymous: got %+v, want joined", m)
	}
	st, body := call(t, srv, admin, "PATCH", "/api/v1/rooms/demo/access", `{"access":"signed-in"}`)
	if st != 200 || !strings.Contains(body, `"access":"signed-in"`) {
		t.Fatalf("set access: got %d %s", st, body)
	}
	if st, body := call(t, srv, admin, "GET", "/api/v1/rooms/demo/access", ""); st != 200 || !strings.Contains(body, `"access":"signed-in"`) {
		t.Errorf("get access: got %d %s", st, body)
	}
	if st, body := call(t, srv, admin, "PATCH", "/api/v1/rooms/demo/access", `{"access":"everyone"}`); st != 400 {
		t.Errorf("access everyone: got %d %s, want 400", st, body)
	}
	if m := joinWS(t, srv, "demo", "", ""); m.Type != "error" || m.Code != codeSignInRequired {
		t.Errorf("signed-in room, anonymous: got %+v, want error %s", m, codeSignInRequired)
	}
	if m := joinWS(t, srv, "demo", "", "made-up-session"); m.Code != codeSignInRequired {
		t.Errorf("signed-in room, made-up session: got %+v, want error %s", m, codeSignInRequired)
	}
	uma := signIn(t, srv, "uma")
	if m := joinWS(t, srv, "demo", "", uma); m.Type != "joined" || m.Role != sfu.RoleParticipant {
		t.Errorf("signed-in room, signed-in user: got %+v, want joined as participant", m)
	}
	if m := joinWS(t, srv, "demo", "stale-link", uma); m.Type != "joined" || m.Role != sfu.RoleParticipant {
		t.Errorf("signed-in room, signed-in user with a bad link: got %+v, want joined as participant", m)
	}
	if m := joinWS(t, srv, "demo", "stale-link", ""); m.Code != codeLinkInvalid {
		t.Errorf("signed-in room, anonymous with a bad link: got %+v, want %s", m, codeLinkInvalid)
	}
	if m := joinWS(t, srv, "demo", "", signIn(t, srv, "max")); m.Type != "joined" || m.Role != sfu.RoleModerator {
		t.Errorf("signed-in room, signed-in moderator: got %+v, want joined as moderator", m)
	}
	if m := joinWS(t, srv, "demo", part, ""); m.Type != "joined" || m.Role != sfu.RoleParticipant {
		t.Errorf("signed-in room, participant link: got %+v, want joined as participant", m)
	}
	if m := joinWS(t, srv, "demo", ModeratorToken(testSecret, "demo"), ""); m.Type != "joined" || m.Role != sfu.RoleModerator {
		t.Errorf("signed-in room, unversioned moderator link: got %+v, want joined as moderator", m)
	}
}

// TestTokensFromConsoleSession: an admin signed in to the console manages
// tokens with the session's CSRF token; without it, or as a moderator, not.
func TestTokensFromConsoleSession(t *testing.T) {
	srv, _, _ := newScopeServer(t)
	c := noRedirect(t)
	resp, body := do(t, c, "POST", srv.URL+"/admin/login", `{"user":"ada","password":"ada-password"}`, map[string]string{"Content-Type": "application/json"})
	var login struct{ CSRF string }
	if err := json.Unmarshal([]byte(body), &login); err != nil || resp.StatusCode != 200 || login.CSRF == "" {
		t.Fatalf("console login: got %d %s", resp.StatusCode, body)
	}
	h := map[string]string{"Content-Type": "application/json", "Origin": srv.URL, "X-CSRF-Token": login.CSRF}
	resp, body = do(t, c, "POST", srv.URL+"/api/v1/tokens", `{"name":"ci","scopes":["read"]}`, h)
	if resp.StatusCode != 201 || !strings.Contains(body, `"token":"dra_`) {
		t.Fatalf("create from the console: got %d %s", resp.StatusCode, body)
	}
	if resp, body := do(t, c, "GET", srv.URL+"/api/v1/tokens", "", nil); resp.StatusCode != 200 || !strings.Contains(body, `"name":"ci"`) {
		t.Errorf("list from the console: got %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, c, "DELETE", srv.URL+"/api/v1/tokens/ci", "", map[string]string{"Origin": srv.URL}); resp.StatusCode != 401 {
		t.Errorf("revoke without CSRF token: got %d, want 401", resp.StatusCode)
	}
	if resp, _ := do(t, c, "DELETE", srv.URL+"/api/v1/tokens/ci", "", h); resp.StatusCode != 204 {
		t.Errorf("revoke from the console: got %d, want 204", resp.StatusCode)
	}
	m := noRedirect(t)
	formPost(t, m, srv.URL+"/login", url.Values{"user": {"max"}, "password": {"max-password"}}, srv.URL)
	if resp, _ := do(t, m, "GET", srv.URL+"/api/v1/tokens", "", nil); resp.StatusCode != 401 {
		t.Errorf("tokens with a moderator's session: got %d, want 401", resp.StatusCode)
	}
}
