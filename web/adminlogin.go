package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"dialroom/dialplan"
)

// The admin password's argon2id cost: a person's password deserves more
// than a PIN (dialplan), and a login is rare.
const (
	pwTime    = 2
	pwMemory  = 64 * 1024 // KiB
	pwThreads = 1
)

// adminCookie names the console's session cookie.
const adminCookie = "dialroom_admin"

// adminSessionTTL is how long a console login lasts.
const adminSessionTTL = 12 * time.Hour

// SetAdminPassword writes user and an argon2id hash of password to the file
// at path (mode 0600, replacing it). The password itself is stored nowhere.
func SetAdminPassword(path, user, password string) error {
	if user == "" || strings.ContainsAny(user, "\n\r") {
		return errors.New("admin password: user name must be one non-empty line")
	}
	if len(password) < 10 {
		return errors.New("admin password: use at least 10 characters")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return fmt.Errorf("admin password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, pwTime, pwMemory, pwThreads, 32)
	hash := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, pwMemory, pwTime, pwThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(user+"\n"+hash+"\n"), 0o600); err != nil {
		return fmt.Errorf("admin password: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("admin password: %w", err)
	}
	return nil
}

// checkAdminPassword reports whether user and password match the file. The
// file is read on every login, so `dialroom admin passwd` needs no restart.
func checkAdminPassword(path, user, password string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	wantUser, hash, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	okUser := subtle.ConstantTimeCompare([]byte(user), []byte(wantUser)) == 1
	// dialplan.CheckPIN verifies any argon2id hash in PHC form, with bounds.
	okPass := dialplan.CheckPIN(strings.TrimSpace(hash), password)
	return okUser && okPass
}

// Failed console logins: after maxLoginFailures within loginWindow every
// login is refused (429) until the window has passed, whoever tries.
const (
	maxLoginFailures = 10
	loginWindow      = time.Minute
)

// loginLimiter counts recent failed logins.
type loginLimiter struct {
	mu    sync.Mutex
	fails []time.Time
}

// allow reports whether a login may be tried now.
func (l *loginLimiter) allow(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	keep := l.fails[:0]
	for _, f := range l.fails {
		if now.Sub(f) < loginWindow {
			keep = append(keep, f)
		}
	}
	l.fails = keep
	return len(l.fails) < maxLoginFailures
}

// fail records a failed login.
func (l *loginLimiter) fail(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fails = append(l.fails, now)
}

// adminSession is one logged-in console.
type adminSession struct {
	user    string
	csrf    string // sent back in X-CSRF-Token on every state-changing request
	expires time.Time
}

// adminSessions holds the console sessions in memory: a restart logs out.
type adminSessions struct {
	mu sync.Mutex
	m  map[string]adminSession
}

// create starts a session for user and returns its ID and CSRF token.
func (a *adminSessions) create(user string, now time.Time) (id, csrf string) {
	id, csrf = randomToken(), randomToken()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = make(map[string]adminSession)
	}
	for k, s := range a.m {
		if now.After(s.expires) {
			delete(a.m, k)
		}
	}
	a.m[id] = adminSession{user: user, csrf: csrf, expires: now.Add(adminSessionTTL)}
	return id, csrf
}

// get returns the live session with id.
func (a *adminSessions) get(id string, now time.Time) (adminSession, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.m[id]
	if !ok || now.After(s.expires) {
		return adminSession{}, false
	}
	return s, true
}

func (a *adminSessions) remove(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, id)
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionFor returns the console session of r's cookie.
func (s *server) sessionFor(r *http.Request) (adminSession, bool) {
	c, err := r.Cookie(adminCookie)
	if err != nil || c.Value == "" {
		return adminSession{}, false
	}
	return s.sessions.get(c.Value, time.Now())
}

// sessionAuthorized reports whether r is allowed by a console session: safe
// methods need the cookie, others also the session's CSRF token.
func (s *server) sessionAuthorized(r *http.Request) bool {
	sess, ok := s.sessionFor(r)
	if !ok {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return true
	}
	got := r.Header.Get("X-CSRF-Token")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) == 1 && sameOrigin(r)
}

// sameOrigin is false when the request names an Origin other than its Host.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// secureRequest reports whether the browser reached us over HTTPS, directly
// or through a proxy that says so.
func secureRequest(r *http.Request) bool {
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		return true
	}
	return false
}

// isLoopbackHost reports whether host (with or without port) is loopback.
func isLoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sessionCookie is the cookie for session id; maxAge < 0 deletes it. It is
// Secure except on plain HTTP to a loopback address (development, tests),
// so a login over plain HTTP across a network does not stick.
func sessionCookie(r *http.Request, id string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: adminCookie, Value: id, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: secureRequest(r) || !isLoopbackHost(r.Host), SameSite: http.SameSiteStrictMode}
}

// handleAdminLogin checks {"user","password"} and starts a session: it sets
// the cookie and answers the CSRF token.
func (s *server) handleAdminLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !sameOrigin(r) || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeAPIError(w, http.StatusForbidden, "forbidden", "cross-site login refused")
		return
	}
	var in struct {
		User     string `json:"user"`
		Password string `json:"password"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	now := time.Now()
	if !s.logins.allow(now) {
		writeAPIError(w, http.StatusTooManyRequests, "too_many_requests", "too many failed logins; try again in a minute")
		return
	}
	if s.adminPasswordFile == "" || !checkAdminPassword(s.adminPasswordFile, in.User, in.Password) {
		s.logins.fail(now)
		s.log.Warn("admin: login failed", "remote", r.RemoteAddr)
		writeAPIError(w, http.StatusUnauthorized, "unauthorized", "wrong user name or password")
		return
	}
	id, csrf := s.sessions.create(in.User, now)
	http.SetCookie(w, sessionCookie(r, id, int(adminSessionTTL/time.Second)))
	s.log.Info("admin: logged in", "user", in.User)
	writeAPIJSON(w, http.StatusOK, map[string]string{"user": in.User, "csrf": csrf})
}

// handleAdminSession answers the user and CSRF token of the cookie's
// session, so that a reloaded console continues it; 401 without one.
func (s *server) handleAdminSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	sess, ok := s.sessionFor(r)
	if !ok {
		writeAPIError(w, http.StatusUnauthorized, "unauthorized", "not logged in")
		return
	}
	writeAPIJSON(w, http.StatusOK, map[string]string{"user": sess.user, "csrf": sess.csrf})
}

// handleAdminLogout ends the cookie's session (CSRF token required).
func (s *server) handleAdminLogout(w http.ResponseWriter, r *http.Request) {
	if !s.sessionAuthorized(r) {
		writeAPIError(w, http.StatusForbidden, "forbidden", "not logged in or missing CSRF token")
		return
	}
	c, _ := r.Cookie(adminCookie)
	s.sessions.remove(c.Value)
	http.SetCookie(w, sessionCookie(r, "", -1))
	w.WriteHeader(http.StatusNoContent)
}
