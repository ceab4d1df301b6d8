package web

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"dialroom/auth"
	"dialroom/dialplan"
	"dialroom/sfu"
)

const testAdminPassword = "correct horse battery"

// newLoginServer is an admin server whose console login is alice with
// testAdminPassword.
func newLoginServer(t *testing.T) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	store, err := dialplan.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	pwFile := filepath.Join(dir, "admin-password")
	if err := SetAdminPassword(pwFile, "alice", testAdminPassword); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	mgr, err := sfu.NewManager(sfu.Config{ICEIPs: []string{"127.0.0.1"}}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mgr.Close() })
	srv := httptest.NewServer(New(Config{Admin: store, AdminTokenFile: filepath.Join(dir, "admin-token"),
		AdminPasswordFile: pwFile}, store, mgr, log))
	t.Cleanup(srv.Close)
	return srv
}

// do sends one request with the given headers through c.
func do(t *testing.T, c *http.Client, method, url, body string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestSetAdminPassword(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pw")
	if err := SetAdminPassword(path, "alice", "short"); err == nil {
		t.Errorf("short password: got no error, want one")
	}
	if err := SetAdminPassword(path, "", testAdminPassword); err == nil {
		t.Errorf("empty user: got no error, want one")
	}
	if err := SetAdminPassword(path, "alice", testAdminPassword); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), testAdminPassword) || !strings.HasPrefix(string(b), "alice\n$argon2id$") {
		t.Errorf("password file: got %q, want the user and an argon2id hash only", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("password file mode: got %v, want 0600", fi.Mode().Perm())
	}
	tests := []struct {
		user, password string
		want           bool
	}{
		{"alice", testAdminPassword, true},
		{"alice", testAdminPassword + "x", false},
		{"bob", testAdminPassword, false},
		{"", "", false},
	}
	for _, tt := range tests {
		_, err := auth.LocalFile{Path: path}.Authenticate(context.Background(), tt.user, tt.password)
		if got := err == nil; got != tt.want {
			t.Errorf("check %q/%q: got %v, want %v", tt.user, tt.password, got, tt.want)
		}
	}
}

// TestAdminLoginSession: the login sets a HttpOnly SameSite=Strict cookie;
// with it GETs work, and state changes need the CSRF token from the same
// origin; logout ends the session.
func TestAdminLoginSession(t *testing.T) {
	srv := newLoginServer(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	jsonH := map[string]string{"Content-Type": "application/json"}
	login := `{"user":"alice","password":"` + testAdminPassword + `"}`

	loginTests := []struct {
		name, body string
		headers    map[string]string
		status     int
	}{
		{"wrong password", `{"user":"alice","password":"nope nope nope"}`, jsonH, 401},
		{"wrong user", `{"user":"bob","password":"` + testAdminPassword + `"}`, jsonH, 401},
		{"form post (cross-site form)", "user=alice", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 403},
		{"other origin", login, map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, 403},
	}
	for _, tt := range loginTests {
		if resp, body := do(t, c, "POST", srv.URL+"/admin/login", tt.body, tt.headers); resp.StatusCode != tt.status || len(resp.Cookies()) != 0 {
			t.Errorf("%s: got %d %s with %d cookies, want %d and none", tt.name, resp.StatusCode, body, len(resp.Cookies()), tt.status)
		}
	}
	resp, body := do(t, c, "POST", srv.URL+"/admin/login", login, jsonH)
	var sess struct{ User, CSRF string }
	if err := json.Unmarshal([]byte(body), &sess); resp.StatusCode != 200 || err != nil || sess.CSRF == "" {
		t.Fatalf("login: got %d %s (%v), want 200 with a CSRF token", resp.StatusCode, body, err)
	}
	ck := resp.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Path != "/" {
		t.Fatalf("session cookie: got %+v, want one HttpOnly SameSite=Strict cookie", ck)
	}
	csrfH := map[string]string{"Content-Type": "application/json", "X-CSRF-Token": sess.CSRF}
	room := `{"slug":"team"}`
	tests := []struct {
		name, method, path, body string
		headers                  map[string]string
		status                   int
	}{
		{"read with cookie", "GET", "/api/v1/rooms", "", nil, 200},
		{"session", "GET", "/admin/session", "", nil, 200},
		{"change without CSRF", "POST", "/api/v1/rooms", room, jsonH, 401},
		{"change with wrong CSRF", "POST", "/api/v1/rooms", room, map[string]string{"X-CSRF-Token": "x" + sess.CSRF}, 401},
		{"change from other origin", "POST", "/api/v1/rooms", room, map[string]string{"X-CSRF-Token": sess.CSRF, "Origin": "https://evil.example"}, 401},
		{"change with CSRF", "POST", "/api/v1/rooms", room, csrfH, 201},
		{"logout without CSRF", "POST", "/admin/logout", "", nil, 403},
		{"logout", "POST", "/admin/logout", "", csrfH, 204},
		{"read after logout", "GET", "/api/v1/rooms", "", nil, 401},
		{"session after logout", "GET", "/admin/session", "", nil, 401},
	}
	for _, tt := range tests {
		if resp, body := do(t, c, tt.method, srv.URL+tt.path, tt.body, tt.headers); resp.StatusCode != tt.status {
			t.Errorf("%s: got %d %s, want %d", tt.name, resp.StatusCode, body, tt.status)
		}
	}
}

// TestAdminLoginThrottle: after maxLoginFailures wrong passwords from one
// source even the right one is refused for a while, and after
// userLockAfter failures so is one user name, whether it exists or not.
func TestAdminLoginThrottle(t *testing.T) {
	srv := newLoginServer(t)
	jsonH := map[string]string{"Content-Type": "application/json"}
	login := func(user, password string) (int, string) {
		resp, body := do(t, srv.Client(), "POST", srv.URL+"/admin/login", fmt.Sprintf(`{"user":%q,"password":%q}`, user, password), jsonH)
		return resp.StatusCode, body
	}
	// Two names, one that exists and one that does not, fail alike.
	for _, user := range []string{"alice", "nobody"} {
		for i := range userLockAfter {
			if status, body := login(user, fmt.Sprintf("guess guess %d", i)); status != 401 {
				t.Fatalf("%s failure %d: got %d %s, want 401", user, i+1, status, body)
			}
		}
	}
	if status, body := login("alice", testAdminPassword); status != 429 || !strings.Contains(body, "too many failed logins") {
		t.Errorf("right password for a locked name: got %d %s, want 429", status, body)
	}
	if status, body := login("nobody", testAdminPassword); status != 429 || !strings.Contains(body, "too many failed logins") {
		t.Errorf("unknown locked name: got %d %s, want the same 429", status, body)
	}
	// 2*userLockAfter = maxLoginFailures failures from this source.
	if status, body := login("carol", "guess"); status != 429 {
		t.Errorf("fresh name after %d failures from one source: got %d %s, want 429", maxLoginFailures, status, body)
	}

	var l loginLimiter
	t0 := time.Now()
	for range maxLoginFailures {
		l.fail("192.0.2.1", t0)
	}
	if l.allow("192.0.2.1", t0.Add(loginWindow/2)) {
		t.Errorf("limiter within the window: got allowed, want refused")
	}
	if !l.allow("192.0.2.2", t0.Add(loginWindow/2)) {
		t.Errorf("limiter, another source: got refused, want allowed")
	}
	if !l.allow("192.0.2.1", t0.Add(loginWindow)) {
		t.Errorf("limiter after the window: got refused, want allowed")
	}
}

// TestUserLockout: the lock starts after userLockAfter failures, doubles
// with each further one up to userLockMax, and a success clears it.
func TestUserLockout(t *testing.T) {
	var u userLockout
	t0 := time.Now()
	var got []time.Duration
	for i := range userLockAfter + 7 {
		got = append(got, u.fail("Alice", t0.Add(time.Duration(i)*time.Second)))
	}
	want := []time.Duration{0, 0, 0, 0, userLockBase, 2 * userLockBase, 4 * userLockBase, 8 * userLockBase,
		16 * userLockBase, userLockMax, userLockMax, userLockMax}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lock durations: got %v, want %v", got, want)
	}
	now := t0.Add(time.Duration(userLockAfter+6) * time.Second)
	if !u.locked("alice", now) || u.locked("alice", now.Add(userLockMax+time.Second)) {
		t.Errorf("locked: want locked (any case) until the lock ends")
	}
	u.succeed("ALICE")
	if u.locked("alice", now) {
		t.Errorf("after success: got locked, want not")
	}
	if d := u.fail("alice", now); d != 0 {
		t.Errorf("first failure after success: got lock %v, want none", d)
	}
}

func TestSessionCookieSecure(t *testing.T) {
	tests := []struct {
		host, proto string
		tls         bool
		want        bool
	}{
		{"127.0.0.1:8080", "", false, false},
		{"localhost:8080", "", false, false},
		{"[::1]:8080", "", false, false},
		{"meet.example.org", "", false, true},
		{"127.0.0.1:8080", "https", false, true},
		{"127.0.0.1:8443", "", true, true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "http://"+tt.host+"/admin/login", nil)
		r.Host = tt.host
		if tt.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tt.proto)
		}
		if tt.tls {
			r.TLS = &tls.ConnectionState{}
		}
		c := sessionCookie(r, "id", 60)
		if c.Secure != tt.want || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
			t.Errorf("%s proto=%q tls=%v: got Secure=%v HttpOnly=%v SameSite=%v, want Secure=%v, HttpOnly, Strict",
				tt.host, tt.proto, tt.tls, c.Secure, c.HttpOnly, c.SameSite, tt.want)
		}
	}
}

// TestBrowserAdminPasswordLogin: the console logs in with user name and
// password, creates a room through the cookie session, survives a reload
// and logs out.
func TestBrowserAdminPasswordLogin(t *testing.T) {
	tab := startChromium(t)
	srv := newLoginServer(t)
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/admin"),
		chromedp.SetValue(`#user`, "alice"),
		chromedp.SendKeys(`#password`, "wrong password"),
		chromedp.Click(`#password-login button[type=submit]`),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.querySelector('#password-login .error').textContent.includes('wrong user name or password')`); err != nil {
		t.Fatalf("wrong password: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SetValue(`#password`, testAdminPassword),
		chromedp.Click(`#password-login button[type=submit]`),
		chromedp.WaitVisible(`#room-form`),
		chromedp.SendKeys(`#room-slug`, "board"),
		chromedp.Click(`#room-create`),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `!!document.querySelector('tr[data-room="board"]')`); err != nil {
		t.Fatalf("room created with the session: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(`tr[data-room="board"]`)); err != nil {
		t.Fatalf("console after a reload: %v", err)
	}
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`)); err != nil || got != "" {
		t.Errorf("document.cookie: got %q (%v), want nothing (HttpOnly)", got, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`#logout`), chromedp.WaitVisible(`#password-login`),
		chromedp.Reload(), chromedp.WaitVisible(`#password-login`)); err != nil {
		t.Fatalf("logout: %v", err)
	}
}
