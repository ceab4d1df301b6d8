package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"dialroom/dialplan"
)

// addToken makes a named token in the server's store (newAdminServer's
// store is its RoomLookup too) and returns it.
func addToken(t *testing.T, store *dialplan.Store, name string, lifetime time.Duration, now time.Time, scopes ...string) string {
	t.Helper()
	token, _, err := store.AddAPIToken(context.Background(), name, scopes, lifetime, now)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// newScopeServer starts the web handler with a real store (also its room
// lookup) holding the room "demo", the token file's token, the fake
// directory and the link secret; it returns the server, the store and
// the file token.
func newScopeServer(t *testing.T) (*httptest.Server, *dialplan.Store, string) {
	t.Helper()
	e := newTestEnv(t, func(c *Config, _ *dialplan.Store) { c.ModSecret, c.Directory = testSecret, testDirectory })
	if _, err := e.store.AddRoom(context.Background(), "demo", "Demo", "", ""); err != nil {
		t.Fatal(err)
	}
	return e.srv, e.store, e.token
}

// TestTokenScopes: each named token reaches what its scopes cover and gets
// 403 with a JSON error and the RFC 6750 header elsewhere; unknown, expired
// and revoked tokens get 401; the token file's token has every scope.
func TestTokenScopes(t *testing.T) {
	srv, store, fileToken := newScopeServer(t)
	now := time.Now()
	roomsRead := addToken(t, store, "reader", 0, now, dialplan.ScopeRoomsRead)
	read := addToken(t, store, "auditor", 0, now, dialplan.ScopeRead)
	roomsWrite := addToken(t, store, "provisioning", 0, now, dialplan.ScopeRoomsWrite)
	live := addToken(t, store, "ops", time.Hour, now, dialplan.ScopeLiveWrite)
	admin := addToken(t, store, "root", 0, now, dialplan.ScopeAdmin)
	expired := addToken(t, store, "old", time.Hour, now.Add(-2*time.Hour), dialplan.ScopeAdmin)

	tests := []struct {
		name, token, method, path, body string
		want                            int
	}{
		{"rooms:read lists rooms", roomsRead, "GET", "/api/v1/rooms", "", 200},
		{"rooms:read lists numbers", roomsRead, "GET", "/api/v1/numbers", "", 200},
		{"rooms:read reads access", roomsRead, "GET", "/api/v1/rooms/demo/access", "", 200},
		{"rooms:read may not add", roomsRead, "POST", "/api/v1/rooms", `{"slug":"x"}`, 403},
		{"rooms:read may not see live", roomsRead, "GET", "/api/v1/live", "", 403},
		{"rooms:read may not see audit", roomsRead, "GET", "/api/v1/audit", "", 403},
		{"rooms:read may not make links", roomsRead, "POST", "/api/v1/rooms/demo/links", `{"role":"moderator"}`, 403},
		{"read sees audit", read, "GET", "/api/v1/audit", "", 200},
		{"read sees live", read, "GET", "/api/v1/live", "", 200},
		{"read may not end", read, "POST", "/api/v1/live/demo/end", "", 403},
		{"read may not list tokens", read, "GET", "/api/v1/tokens", "", 403},
		{"rooms:write adds", roomsWrite, "POST", "/api/v1/rooms", `{"slug":"added"}`, 201},
		{"rooms:write reads", roomsWrite, "GET", "/api/v1/rooms", "", 200},
		{"rooms:write makes links", roomsWrite, "POST", "/api/v1/rooms/demo/links", `{"role":"participant"}`, 201},
		{"rooms:write may not make tokens", roomsWrite, "POST", "/api/v1/tokens", `{"name":"x","scopes":["admin"]}`, 403},
		{"live:write reads live", live, "GET", "/api/v1/live", "", 200},
		{"live:write may not delete rooms", live, "DELETE", "/api/v1/rooms/demo", "", 403},
		{"admin lists tokens", admin, "GET", "/api/v1/tokens", "", 200},
		{"file token lists tokens", fileToken, "GET", "/api/v1/tokens", "", 200},
		{"unknown endpoint needs admin", roomsWrite, "GET", "/api/v1/nothing", "", 403},
		{"dot-dot does not widen a scope", roomsRead, "GET", "/api/v1/rooms/../tokens", "", 403},
		{"encoded dot-dot finds nothing", roomsRead, "GET", "/api/v1/rooms/%2e%2e/tokens", "", 404},
		{"expired", expired, "GET", "/api/v1/rooms", "", 401},
		{"unknown", "dra_nope", "GET", "/api/v1/rooms", "", 401},
		{"none", "", "GET", "/api/v1/rooms", "", 401},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e apiError
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: got %d %+v, want %d", tt.name, resp.StatusCode, e, tt.want)
			continue
		}
		auth := resp.Header.Get("WWW-Authenticate")
		switch tt.want {
		case 403:
			if e.Error != "insufficient_scope" || !strings.Contains(e.Message, "lacks the scope") ||
				!strings.Contains(auth, `error="insufficient_scope"`) {
				t.Errorf("%s: got %+v, WWW-Authenticate %q; want insufficient_scope naming the scope", tt.name, e, auth)
			}
		case 401:
			if tt.name == "expired" && e.Error != "token_expired" {
				t.Errorf("expired token: got %+v, want token_expired", e)
			}
		}
	}

	// Revoking works at once; last use is recorded.
	list, err := store.APITokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range list {
		if tok.Name == "reader" && tok.LastUsed.IsZero() {
			t.Errorf("reader: last use not recorded")
		}
	}
	if err := store.RevokeAPIToken(context.Background(), "reader"); err != nil {
		t.Fatal(err)
	}
	if st, _ := call(t, srv, roomsRead, "GET", "/api/v1/rooms", ""); st != 401 {
		t.Errorf("revoked token: got %d, want 401", st)
	}
}

// TestTokensAPI: an admin token creates, lists and revokes tokens; the
// token is shown only in the create answer; bad input is a 400.
func TestTokensAPI(t *testing.T) {
	srv, _, fileToken := newScopeServer(t)
	st, body := call(t, srv, fileToken, "POST", "/api/v1/tokens", `{"name":"ci","scopes":["rooms:read","audit:read"],"expires":"90d"}`)
	var made apiToken
	if err := json.Unmarshal([]byte(body), &made); err != nil || st != 201 || !strings.HasPrefix(made.Token, dialplan.TokenPrefix) {
		t.Fatalf("create: got %d %s (%v), want 201 and a token", st, body, err)
	}
	if d := time.Until(time.Unix(made.ExpiresAt, 0)); d < 89*24*time.Hour || d > 91*24*time.Hour {
		t.Errorf("expiry: got %v from now, want 90 days", d)
	}
	if st, _ := call(t, srv, made.Token, "GET", "/api/v1/audit", ""); st != 200 {
		t.Errorf("new token reads the audit log: got %d, want 200", st)
	}
	for _, bad := range []string{
		`{"name":"ci","scopes":["admin"]}`,     // exists: 409
		`{"name":"x","scopes":["everything"]}`, // bad scope
		`{"name":"x","scopes":[]}`,             // no scope
		`{"name":"x y","scopes":["read"]}`,     // bad name
		`{"name":"x","scopes":["read"],"expires":"soon"}`,
		`{"name":"default","scopes":["read"]}`,
		`{"name":"x","scopes":["read"],"secret":"1"}`, // unknown field
	} {
		if st, body := call(t, srv, fileToken, "POST", "/api/v1/tokens", bad); st != 400 && st != 409 {
			t.Errorf("create %s: got %d %s, want 400 or 409", bad, st, body)
		}
	}
	st, body = call(t, srv, fileToken, "GET", "/api/v1/tokens", "")
	if st != 200 || strings.Contains(body, made.Token) || strings.Contains(body, `"token"`) ||
		!strings.Contains(body, `"name":"ci"`) || !strings.Contains(body, `"name":"default"`) {
		t.Errorf("list: got %d %s, want ci and default without secrets", st, body)
	}
	if st, _ := call(t, srv, fileToken, "DELETE", "/api/v1/tokens/ci", ""); st != 204 {
		t.Errorf("revoke: got %d, want 204", st)
	}
	if st, _ := call(t, srv, fileToken, "DELETE", "/api/v1/tokens/ci", ""); st != 404 {
		t.Errorf("revoke twice: got %d, want 404", st)
	}
	if st, _ := call(t, srv, made.Token, "GET", "/api/v1/audit", ""); st != 401 {
		t.Errorf("revoked token: got %d, want 401", st)
	}
	st, body = call(t, srv, fileToken, "GET", "/api/v1/audit", "")
	if st != 200 || !strings.Contains(body, "token.add") || !strings.Contains(body, "token.revoke") || strings.Contains(body, made.Token) {
		t.Errorf("audit log: got %d %s, want token.add and token.revoke, no token", st, body)
	}
	if st, _ := call(t, srv, fileToken, "DELETE", "/api/v1/tokens/default", ""); st != 204 {
		t.Errorf("revoke the file token: got %d, want 204", st)
	}
	if st, _ := call(t, srv, fileToken, "GET", "/api/v1/rooms", ""); st != 401 {
		t.Errorf("revoked file token: got %d, want 401", st)
	}
}

func TestRequiredScope(t *testing.T) {
	for _, tt := range []struct{ method, path, want string }{
		{"GET", "/api/v1/rooms", "rooms:read"},
		{"PATCH", "/api/v1/rooms/a", "rooms:write"},
		{"POST", "/api/v1/rooms/a/relink", "rooms:write"},
		{"DELETE", "/api/v1/numbers/+49", "rooms:write"},
		{"GET", "/api/v1/trunks", "rooms:read"},
		{"POST", "/api/v1/trunks", "admin"},
		{"GET", "/api/v1/live", "live:read"},
		{"POST", "/api/v1/live/a/end", "live:write"},
		{"GET", "/api/v1/audit", "audit:read"},
		{"DELETE", "/api/v1/audit", "admin"},
		{"GET", "/api/v1/tokens", "admin"},
		{"GET", "/api/v1/", "admin"},
		{"GET", "/api/v1/whatever", "admin"},
	} {
		if got := requiredScope(tt.method, tt.path); got != tt.want {
			t.Errorf("%s %s: got %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}
