package web

import (
	"context"
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

	"dialroom/auth"
	"dialroom/dialplan"
)

// adminCookie names the session cookie of the console and of signed-in
// meeting users.
const adminCookie = "dialroom_session"

// adminSessionTTL is how long a login lasts.
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
	hash, err := dialplan.HashPassword(password)
	if err != nil {
		return fmt.Errorf("admin password: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(user+"\n"+hash+"\n"), 0o600); err != nil {
		return fmt.Errorf("admin password: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("admin password: %w", err)
	}
	return nil
}

// Login limits. Per source address: after maxLoginFailures failures within
// loginWindow every login from there is refused (429) until the window has
// passed. Per user name (whether it exists or not, so the answer tells
// nothing): after userLockAfter failures in a row the name is locked for
// userLockBase, doubling with each further failure up to userLockMax.
const (
	maxLoginFailures = 10
	loginWindow      = time.Minute
	userLockAfter    = 5
	userLockBase     = 30 * time.Second
	userLockMax      = 15 * time.Minute
	userLockForget   = 24 * time.Hour // a name's count restarts after this long without failures
	maxLimiterKeys   = 10000          // bound on the sources or names tracked
)

// loginLimiter counts recent failed logins per source address.
type loginLimiter struct {
	mu    sync.Mutex
	fails map[string][]time.Time
}

// recent returns the failures of key within the window; l.mu is held.
func (l *loginLimiter) recent(key string, now time.Time) []time.Time {
	keep := l.fails[key][:0]
	for _, f := range l.fails[key] {
		if now.Sub(f) < loginWindow {
			keep = append(keep, f)
		}
	}
	if len(keep) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = keep
	return keep
}

// allow reports whether a login from key may be tried now.
func (l *loginLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(key, now)) < maxLoginFailures
}

// fail records a failed login from key.
func (l *loginLimiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fails == nil {
		l.fails = make(map[string][]time.Time)
	}
	if len(l.fails) >= maxLimiterKeys {
		for k := range l.fails {
			l.recent(k, now)
		}
	}
	if _, ok := l.fails[key]; !ok && len(l.fails) >= maxLimiterKeys {
		key = "" // full of live sources: count the newcomer with the other overflow
	}
	l.fails[key] = append(l.recent(key, now), now)
}

// userLock is one user name's failure record.
type userLock struct {
	fails int       // in a row
	last  time.Time // of the last failure
	until time.Time // locked until
}

// userLockout locks user names after repeated failures, with back-off.
type userLockout struct {
	mu sync.Mutex
	m  map[string]userLock
}

// lockKey folds a user name: directories compare names case-insensitively.
func lockKey(user string) string { return strings.ToLower(strings.TrimSpace(user)) }

// locked reports whether user may not try now.
func (u *userLockout) locked(user string, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return now.Before(u.m[lockKey(user)].until)
}

// fail records a failure for user and returns how long it is now locked.
func (u *userLockout) fail(user string, now time.Time) time.Duration {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		u.m = make(map[string]userLock)
	}
	key := lockKey(user)
	if len(u.m) >= maxLimiterKeys {
		for k, v := range u.m {
			if now.After(v.until) && now.Sub(v.last) > userLockMax {
				delete(u.m, k)
			}
		}
	}
	e, ok := u.m[key]
	if !ok && len(u.m) >= maxLimiterKeys {
		return 0 // the source limit still applies
	}
	if now.Sub(e.last) > userLockForget {
		e.fails = 0
	}
	e.fails++
	e.last = now
	var d time.Duration
	if e.fails >= userLockAfter {
		d = userLockBase << min(e.fails-userLockAfter, 10)
		d = min(d, userLockMax)
		e.until = now.Add(d)
	}
	u.m[key] = e
	return d
}

// succeed forgets user's failures.
func (u *userLockout) succeed(user string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.m, lockKey(user))
}

// sourceOf is the address a request counts against.
func sourceOf(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// Answers of a password login that failed.
var (
	errLoginThrottled = errors.New("too many failed logins; try again later")
	errLoginFailed    = errors.New("wrong user name or password")
)

// checkLogin applies the limits and asks the directory. Every failure is
// errLoginThrottled or errLoginFailed, the same whether the user exists or
// not; the log says which user failed, never the password.
func (s *server) checkLogin(r *http.Request, user, password string) (auth.Identity, error) {
	now, src := time.Now(), sourceOf(r)
	if !s.logins.allow(src, now) || s.lockout.locked(user, now) {
		s.log.Warn("login refused: too many failures", "remote", src, "user", user)
		return auth.Identity{}, errLoginThrottled
	}
	if s.dir == nil {
		return auth.Identity{}, errLoginFailed
	}
	ctx, cancel := context.WithTimeout(r.Context(), loginTimeout)
	defer cancel()
	id, err := s.dir.Authenticate(ctx, user, password)
	if err != nil {
		s.logins.fail(src, now)
		if d := s.lockout.fail(user, now); d > 0 {
			s.log.Warn("login failed; user name locked", "remote", src, "user", user, "for", d)
		} else {
			s.log.Warn("login failed", "remote", src, "user", user)
		}
		return auth.Identity{}, errLoginFailed
	}
	s.lockout.succeed(user)
	return id, nil
}

// loginTimeout bounds one directory check.
const loginTimeout = 15 * time.Second

// session is one signed-in browser: the admin console, a meeting, or both.
type session struct {
	user    string
	name    string // display name
	role    auth.Role
	csrf    string // sent back in X-CSRF-Token (or a csrf form field) on every state-changing request
	expires time.Time
}

// sessions holds the sessions in memory: a restart logs everyone out.
type sessions struct {
	mu sync.Mutex
	m  map[string]session
}

// create starts a session for id and returns its ID and CSRF token.
func (a *sessions) create(ident auth.Identity, now time.Time) (id, csrf string) {
	id, csrf = randomToken(), randomToken()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = make(map[string]session)
	}
	for k, s := range a.m {
		if now.After(s.expires) {
			delete(a.m, k)
		}
	}
	name := ident.DisplayName
	if name == "" {
		name = ident.User
	}
	a.m[id] = session{user: ident.User, name: name, role: ident.Role, csrf: csrf, expires: now.Add(adminSessionTTL)}
	return id, csrf
}

// get returns the live session with id.
func (a *sessions) get(id string, now time.Time) (session, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.m[id]
	if !ok || now.After(s.expires) {
		return session{}, false
	}
	return s, true
}

func (a *sessions) remove(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, id)
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionFor returns the session of r's cookie.
func (s *server) sessionFor(r *http.Request) (session, bool) {
	c, err := r.Cookie(adminCookie)
	if err != nil || c.Value == "" {
		return session{}, false
	}
	return s.sessions.get(c.Value, time.Now())
}

// startSession replaces r's session, if any, with a new one for id (a new
// ID on every login, against session fixation) and sets the cookie.
func (s *server) startSession(w http.ResponseWriter, r *http.Request, id auth.Identity) (csrf string) {
	if c, err := r.Cookie(adminCookie); err == nil {
		s.sessions.remove(c.Value)
	}
	sid, csrf := s.sessions.create(id, time.Now())
	http.SetCookie(w, sessionCookie(r, sid, int(adminSessionTTL/time.Second)))
	return csrf
}

// endSession removes r's session and deletes the cookie.
func (s *server) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(adminCookie); err == nil {
		s.sessions.remove(c.Value)
	}
	http.SetCookie(w, sessionCookie(r, "", -1))
}

// sessionAuthorized reports whether r is allowed by an admin's session:
// safe methods need the cookie, others also the session's CSRF token.
func (s *server) sessionAuthorized(r *http.Request) bool {
	sess, ok := s.sessionFor(r)
	if !ok || sess.role != auth.RoleAdmin {
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

// handleAdminLogin checks {"user","password"} against the directory and,
// for the admin role only, starts a session: it sets the cookie and answers
// the CSRF token. Other roles get the same answer as a wrong password.
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
	id, err := s.checkLogin(r, in.User, in.Password)
	if errors.Is(err, errLoginThrottled) {
		writeAPIError(w, http.StatusTooManyRequests, "too_many_requests", err.Error())
		return
	}
	if err == nil && id.Role != auth.RoleAdmin {
		s.log.Warn("admin: login refused: not an admin", "user", id.User, "remote", sourceOf(r))
		err = errLoginFailed
	}
	if err != nil {
		writeAPIError(w, http.StatusUnauthorized, "unauthorized", errLoginFailed.Error())
		return
	}
	csrf := s.startSession(w, r, id)
	s.log.Info("admin: logged in", "user", id.User)
	writeAPIJSON(w, http.StatusOK, map[string]string{"user": id.User, "csrf": csrf})
}

// handleAdminSession answers the user and CSRF token of the cookie's
// session, so that a reloaded console continues it; 401 without one.
func (s *server) handleAdminSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	sess, ok := s.sessionFor(r)
	if !ok || sess.role != auth.RoleAdmin {
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
	s.endSession(w, r)
	w.WriteHeader(http.StatusNoContent)
}
