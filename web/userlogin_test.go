package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/oauth2-proxy/mockoidc"

	"dialroom/auth"
	"dialroom/config"
	"dialroom/dialplan"
	"dialroom/sfu"
)

// fakeDirectory knows three people, one per role. (The LDAP directory is
// tested against a real slapd in package auth.)
type fakeDirectory map[string]auth.Identity

func (f fakeDirectory) Authenticate(_ context.Context, user, password string) (auth.Identity, error) {
	if id, ok := f[user]; ok && password == user+"-password" {
		return id, nil
	}
	return auth.Identity{}, auth.ErrInvalidCredentials
}

var testDirectory = fakeDirectory{
	"ada": {User: "ada", DisplayName: "Ada Admin", Role: auth.RoleAdmin},
	"max": {User: "max", DisplayName: "Max Moderator", Role: auth.RoleModerator},
	"uma": {User: "uma", DisplayName: "Uma User", Role: auth.RoleUser},
}

// newDirectoryServer is a server with the admin console, the fake
// directory and, when o is set, single sign-on.
func newDirectoryServer(t *testing.T, o OIDCLogin) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	startDirectoryServer(t, srv, o)
	return srv
}

func startDirectoryServer(t *testing.T, srv *httptest.Server, o OIDCLogin) {
	t.Helper()
	dir := t.TempDir()
	store, err := dialplan.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	log := slog.New(slog.DiscardHandler)
	mgr, err := sfu.NewManager(sfu.Config{ICEIPs: []string{"127.0.0.1"}}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mgr.Close() })
	cfg := Config{Admin: store, AdminTokenFile: dir + "/admin-token", Directory: testDirectory, ModSecret: testSecret}
	if o != nil {
		cfg.OIDC = o
	}
	srv.Config.Handler = New(cfg, testRooms, mgr, log)
	srv.Start()
	t.Cleanup(srv.Close)
}

// noRedirect is a client with a cookie jar that shows redirects instead of
// following them.
func noRedirect(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func formPost(t *testing.T, c *http.Client, u string, form url.Values, origin string) (*http.Response, string) {
	t.Helper()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if origin != "" {
		h["Origin"] = origin
	}
	return do(t, c, "POST", u, form.Encode(), h)
}

func sessionCookieOf(resp *http.Response) string {
	for _, c := range resp.Cookies() {
		if c.Name == adminCookie {
			return c.Value
		}
	}
	return ""
}

// TestUserLogin: the login form signs in every role with the same generic
// error for a wrong password and an unknown user, redirects only within the
// site, refuses cross-site posts, renews the session ID on every login and
// signs out with the CSRF token.
func TestUserLogin(t *testing.T) {
	srv := newDirectoryServer(t, nil)
	c := noRedirect(t)
	form := func(user, pw, next string) url.Values {
		return url.Values{"user": {user}, "password": {pw}, "next": {next}}
	}
	resp, wrongPw := formPost(t, c, srv.URL+"/login", form("max", "nope", "/r/demo"), srv.URL)
	if resp.StatusCode != 401 || !strings.Contains(wrongPw, "wrong user name or password") || sessionCookieOf(resp) != "" {
		t.Errorf("wrong password: got %d %q, want 401 with the generic error and no session", resp.StatusCode, wrongPw)
	}
	resp, unknown := formPost(t, c, srv.URL+"/login", form("nobody", "nope", "/r/demo"), srv.URL)
	if resp.StatusCode != 401 || unknown != wrongPw {
		t.Errorf("unknown user: got %d, body differs from a wrong password: %v", resp.StatusCode, unknown != wrongPw)
	}
	if resp, body := formPost(t, c, srv.URL+"/login", form("max", "max-password", "/"), "https://evil.example"); resp.StatusCode != 403 || sessionCookieOf(resp) != "" {
		t.Errorf("cross-site login: got %d %q, want 403 and no session", resp.StatusCode, body)
	}

	for _, h := range []map[string]string{{"Origin": "null"}, {"Origin": "null", "Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}} {
		h["Content-Type"] = "application/x-www-form-urlencoded"
		if resp, _ := do(t, c, "POST", srv.URL+"/login", form("max", "max-password", "/").Encode(), h); resp.StatusCode != 403 || sessionCookieOf(resp) != "" {
			t.Errorf("login with %v: got %d, want 403 and no session", h, resp.StatusCode)
		}
	}
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "null", "Sec-Fetch-Site": "same-origin"}
	if resp, _ := do(t, noRedirect(t), "POST", srv.URL+"/login", form("max", "max-password", "/").Encode(), h); resp.StatusCode != 303 {
		t.Errorf("form post from our page (Origin null, same-origin): got %d, want 303", resp.StatusCode)
	}

	// A planted session ID is not kept: the login issues a new one.
	u, _ := url.Parse(srv.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: adminCookie, Value: "planted-by-attacker", Path: "/"}})
	resp, body := formPost(t, c, srv.URL+"/login", form("max", "max-password", "/r/demo"), srv.URL)
	first := sessionCookieOf(resp)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/r/demo" || first == "" || first == "planted-by-attacker" {
		t.Fatalf("login: got %d %q to %q with session %q, want 303 to /r/demo and a new session",
			resp.StatusCode, body, resp.Header.Get("Location"), first)
	}
	resp, _ = formPost(t, c, srv.URL+"/login", form("max", "max-password", "https://evil.example/"), srv.URL)
	second := sessionCookieOf(resp)
	if resp.Header.Get("Location") != "/" || second == "" || second == first {
		t.Errorf("second login: got to %q with session %q (first %q), want / and a new ID", resp.Header.Get("Location"), second, first)
	}
	alive := func(id string) bool { return sessionValid(t, srv, id) }
	if alive(first) {
		t.Errorf("the first session still works after the second login")
	}
	if !alive(second) {
		t.Errorf("the second session does not work")
	}

	// The signed-in page offers sign-out; it needs the CSRF token.
	_, page := do(t, c, "GET", srv.URL+"/login", "", nil)
	if !strings.Contains(page, "Max Moderator") {
		t.Errorf("login page when signed in: %q does not name the user", page)
	}
	csrf := between(page, `name="csrf" value="`, `"`)
	if resp, _ := formPost(t, c, srv.URL+"/logout", url.Values{"csrf": {"wrong"}}, srv.URL); resp.StatusCode != 403 {
		t.Errorf("logout without the CSRF token: got %d, want 403", resp.StatusCode)
	}
	resp, _ = formPost(t, c, srv.URL+"/logout", url.Values{"csrf": {csrf}}, srv.URL)
	if resp.StatusCode != 303 || alive(second) {
		t.Errorf("logout: got %d and the session still works=%v, want 303 and a dead session", resp.StatusCode, alive(second))
	}
}

// sessionValid reports whether the server knows session id, by the
// login page's "signed in" text.
func sessionValid(t *testing.T, srv *httptest.Server, id string) bool {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+"/login", nil)
	req.AddCookie(&http.Cookie{Name: adminCookie, Value: id})
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), `id="signed-in"`)
}

func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, end)
	return v
}

// TestConsoleNeedsAdminRole: a moderator's right password gets the same
// answer at the console as a wrong one; an admin's gets the console.
func TestConsoleNeedsAdminRole(t *testing.T) {
	srv := newDirectoryServer(t, nil)
	jsonH := map[string]string{"Content-Type": "application/json"}
	_, wrong := do(t, srv.Client(), "POST", srv.URL+"/admin/login", `{"user":"max","password":"nope"}`, jsonH)
	resp, body := do(t, srv.Client(), "POST", srv.URL+"/admin/login", `{"user":"max","password":"max-password"}`, jsonH)
	if resp.StatusCode != 401 || body != wrong || sessionCookieOf(resp) != "" {
		t.Errorf("moderator at the console: got %d %q, want 401 %q and no session", resp.StatusCode, body, wrong)
	}
	resp, body = do(t, srv.Client(), "POST", srv.URL+"/admin/login", `{"user":"ada","password":"ada-password"}`, jsonH)
	if resp.StatusCode != 200 || sessionCookieOf(resp) == "" {
		t.Errorf("admin at the console: got %d %q, want 200 and a session", resp.StatusCode, body)
	}
	// A moderator's meeting session does not open the admin API.
	c := noRedirect(t)
	formPost(t, c, srv.URL+"/login", url.Values{"user": {"max"}, "password": {"max-password"}}, srv.URL)
	if resp, _ := do(t, c, "GET", srv.URL+"/api/v1/rooms", "", nil); resp.StatusCode != 401 {
		t.Errorf("admin API with a moderator's session: got %d, want 401", resp.StatusCode)
	}
	if resp, _ := do(t, c, "GET", srv.URL+"/admin/session", "", nil); resp.StatusCode != 401 {
		t.Errorf("console session with a moderator's session: got %d, want 401", resp.StatusCode)
	}
}

// joinWithSession joins the demo room over a WebSocket that carries the
// session cookie (none when id is "").
func joinWithSession(t *testing.T, srv *httptest.Server, id, name string) message {
	t.Helper()
	h := http.Header{"Origin": {srv.URL}}
	if id != "" {
		h.Set("Cookie", (&http.Cookie{Name: adminCookie, Value: id}).String())
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	c := &wsClient{t: t, ws: ws}
	c.send(joinMsg{Type: "join", Room: "demo", Name: name})
	return c.next("joined")
}

// TestSessionModeratorJoins: signed-in admins and moderators join rooms as
// moderators; users, guests and stale sessions as participants.
func TestSessionModeratorJoins(t *testing.T) {
	srv := newDirectoryServer(t, nil)
	login := func(user string) string {
		resp, _ := formPost(t, noRedirect(t), srv.URL+"/login", url.Values{"user": {user}, "password": {user + "-password"}}, srv.URL)
		return sessionCookieOf(resp)
	}
	tests := []struct {
		name, session, want string
	}{
		{"admin", login("ada"), sfu.RoleModerator},
		{"moderator", login("max"), sfu.RoleModerator},
		{"user", login("uma"), sfu.RoleParticipant},
		{"guest", "", sfu.RoleParticipant},
		{"made-up session", "not-a-session", sfu.RoleParticipant},
	}
	for _, tt := range tests {
		if got := joinWithSession(t, srv, tt.session, tt.name).Role; got != tt.want {
			t.Errorf("%s: joined as %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	tests := map[string]string{
		"":                     "/",
		"/r/demo":              "/r/demo",
		"/admin?x=1":           "/admin?x=1",
		"//evil.example/":      "/",
		"/\\evil.example":      "/",
		"https://evil.example": "/",
		"r/demo":               "/",
		"/r/demo\r\nX: y":      "/",
	}
	for in, want := range tests {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q): got %q, want %q", in, got, want)
		}
	}
}

// newOIDCServer starts a mock OpenID provider on loopback (it stands in
// for Keycloak, which cannot run here) and a server that signs in through
// it: group dialroom-admins is admin, hosts moderator, others refused.
func newOIDCServer(t *testing.T) (*httptest.Server, *mockoidc.MockOIDC) {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	srv := httptest.NewUnstartedServer(nil)
	o, err := auth.NewOIDC(config.OIDC{Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret,
		RedirectURL: "http://" + srv.Listener.Addr().String() + "/login/oidc/callback",
		Scopes:      []string{"profile", "email", "groups"}, Label: "Sign in with Keycloak",
		Roles: config.Roles{Admin: []string{"dialroom-admins"}, Moderator: []string{"hosts"}, Others: "none"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	startDirectoryServer(t, srv, o)
	return srv, m
}

// TestOIDCLogin runs the whole single sign-on through the web handlers
// against a mock OpenID provider on loopback (it stands in for Keycloak):
// state cookie, PKCE, nonce, the role from the groups claim, and a
// callback that a different browser replays.
func TestOIDCLogin(t *testing.T) {
	srv, m := newOIDCServer(t)

	if _, page := do(t, srv.Client(), "GET", srv.URL+"/login?next=/r/demo", "", nil); !strings.Contains(page, "Sign in with Keycloak") ||
		!strings.Contains(page, `href="/login/oidc?next=%2fr%2fdemo"`) {
		t.Errorf("login page: no single sign-on button in %q", page)
	}

	// signIn starts at /login/oidc, lets the provider answer and returns
	// the callback URL and the browser.
	signIn := func(groups []string) (string, *http.Client) {
		m.QueueUser(&mockoidc.MockUser{Subject: "k-1", PreferredUsername: "kim", Groups: groups})
		c := noRedirect(t)
		resp, _ := do(t, c, "GET", srv.URL+"/login/oidc?next=/r/demo", "", nil)
		if resp.StatusCode != 302 || !strings.HasPrefix(resp.Header.Get("Location"), m.AuthorizationEndpoint()) {
			t.Fatalf("start: got %d to %q, want a redirect to the provider", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, _ = do(t, c, "GET", resp.Header.Get("Location"), "", nil)
		cb := resp.Header.Get("Location")
		if !strings.HasPrefix(cb, srv.URL+"/login/oidc/callback?") {
			t.Fatalf("provider: got %d to %q, want a redirect to the callback", resp.StatusCode, cb)
		}
		return cb, c
	}

	cb, c := signIn([]string{"hosts"})
	// Another browser (no state cookie) replaying the callback gets nothing.
	if resp, _ := do(t, noRedirect(t), "GET", cb, "", nil); resp.StatusCode != 400 || sessionCookieOf(resp) != "" {
		t.Errorf("callback in another browser: got %d, want 400 and no session", resp.StatusCode)
	}
	resp, body := do(t, c, "GET", cb, "", nil)
	sid := sessionCookieOf(resp)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/r/demo" || sid == "" {
		t.Fatalf("callback: got %d %q to %q, want 303 to /r/demo with a session", resp.StatusCode, body, resp.Header.Get("Location"))
	}
	if got := joinWithSession(t, srv, sid, "Kim").Role; got != sfu.RoleModerator {
		t.Errorf("kim (hosts) joined as %q, want moderator", got)
	}
	if resp, _ := do(t, c, "GET", cb, "", nil); resp.StatusCode != 400 {
		t.Errorf("callback used twice: got %d, want 400", resp.StatusCode)
	}

	cb, c = signIn([]string{"staff"})
	if resp, body := do(t, c, "GET", cb, "", nil); resp.StatusCode != 403 || sessionCookieOf(resp) != "" || !strings.Contains(body, "may not use") {
		t.Errorf("no mapped group with others=none: got %d %q, want 403 and no session", resp.StatusCode, body)
	}

	cb, c = signIn([]string{"dialroom-admins"})
	if resp, _ := do(t, c, "GET", cb, "", nil); resp.StatusCode != 303 {
		t.Fatalf("admin callback: got %d, want 303", resp.StatusCode)
	}
	if resp, body := do(t, c, "GET", srv.URL+"/admin/session", "", nil); resp.StatusCode != 200 || !strings.Contains(body, "kim") {
		t.Errorf("console after single sign-on as admin: got %d %q, want 200 for kim", resp.StatusCode, body)
	}
}

// FuzzSafeNext: whatever arrives as next, the login redirects to a path on
// this server.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/r/demo", "//evil", "/\\evil", "https://evil", "/%2f%2fevil", "/\t/evil", "/a?b=//c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") ||
			strings.ContainsAny(got, "\\\r\n\t") {
			t.Fatalf("safeNext(%q) = %q leaves the site", next, got)
		}
		// What a browser makes of it: resolved against our origin, the
		// host must stay ours.
		base, _ := url.Parse("https://meet.example.com/login")
		if r := base.ResolveReference(u); r.Host != "meet.example.com" {
			t.Fatalf("safeNext(%q) = %q resolves to host %q", next, got, r.Host)
		}
	})
}
