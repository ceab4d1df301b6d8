package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"dialroom/auth"
)

// Directory checks a user name and password (auth.Chain of the local admin
// and LDAP in production). Every failure is auth.ErrInvalidCredentials.
type Directory interface {
	Authenticate(ctx context.Context, user, password string) (auth.Identity, error)
}

// OIDCLogin is an OpenID Connect provider (auth.OIDC).
type OIDCLogin interface {
	// Label is the login button's text.
	Label() string
	// AuthCodeURL is the provider's login page for one attempt.
	AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error)
	// Exchange redeems the code and returns who signed in.
	Exchange(ctx context.Context, code, verifier, nonce string) (auth.Identity, error)
}

// oidcCookie carries the state of a single sign-on attempt, binding the
// provider's answer to the browser that started it. It is SameSite=Lax:
// the answer arrives as a top-level navigation from the provider's site.
const oidcCookie = "dialroom_oidc"

// oidcAttemptTTL is how long a person has at the provider's login page.
const oidcAttemptTTL = 10 * time.Minute

// maxOIDCAttempts bounds the attempts in progress.
const maxOIDCAttempts = 10000

// maxLoginForm bounds the login form's body.
const maxLoginForm = 16 << 10

// oidcAttempt is a single sign-on in progress.
type oidcAttempt struct {
	nonce, verifier, next string
	expires               time.Time
}

// oidcPending holds the attempts in progress by state.
type oidcPending struct {
	mu sync.Mutex
	m  map[string]oidcAttempt
}

// add stores a for state; false when too many attempts are in progress.
func (p *oidcPending) add(state string, a oidcAttempt, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = make(map[string]oidcAttempt)
	}
	if len(p.m) >= maxOIDCAttempts {
		for k, v := range p.m {
			if now.After(v.expires) {
				delete(p.m, k)
			}
		}
		if len(p.m) >= maxOIDCAttempts {
			return false
		}
	}
	p.m[state] = a
	return true
}

// take removes and returns the live attempt of state: each is used once.
func (p *oidcPending) take(state string, now time.Time) (oidcAttempt, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.m[state]
	delete(p.m, state)
	if !ok || now.After(a.expires) {
		return oidcAttempt{}, false
	}
	return a, true
}

// routeLogin adds the sign-in pages when a directory or OIDC is configured:
// GET/POST /login, POST /logout, GET /login/options and, with OIDC,
// /login/oidc and its callback.
func (s *server) routeLogin(mux *http.ServeMux) {
	if s.dir == nil && s.oidc == nil {
		return
	}
	mux.HandleFunc("GET /login", s.handleLoginPage)
	mux.HandleFunc("POST /login", s.handleLogin)
	mux.HandleFunc("POST /logout", s.handleLogout)
	mux.HandleFunc("GET /login/options", s.handleLoginOptions)
	if s.oidc != nil {
		mux.HandleFunc("GET /login/oidc", s.handleOIDCStart)
		mux.HandleFunc("GET /login/oidc/callback", s.handleOIDCCallback)
	}
}

// loginPage is what login.html renders.
type loginPage struct {
	Next      string // where to go after signing in
	Error     string
	Password  bool   // the password form is shown
	OIDCLabel string // "" without single sign-on
	User      string // the signed-in user, if any
	Role      string
	CSRF      string // for the logout form
}

func (s *server) loginPage(r *http.Request, next, msg string) loginPage {
	p := loginPage{Next: safeNext(next), Error: msg, Password: s.dir != nil}
	if s.oidc != nil {
		p.OIDCLabel = s.oidc.Label()
	}
	if sess, ok := s.sessionFor(r); ok {
		p.User, p.Role, p.CSRF = sess.name, string(sess.role), sess.csrf
	}
	return p
}

func (s *server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login.html", s.loginPage(r, r.URL.Query().Get("next"), ""))
}

// handleLoginOptions tells the console's login form which sign-ins exist.
func (s *server) handleLoginOptions(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	label := ""
	if s.oidc != nil {
		label = s.oidc.Label()
	}
	writeAPIJSON(w, http.StatusOK, map[string]any{"password": s.dir != nil, "oidc": label})
}

// handleLogin checks the login form and starts a session for any role:
// admins and moderators then join rooms as moderators.
func (s *server) handleLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !formFromHere(r) {
		http.Error(w, "cross-site login refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	next := r.PostForm.Get("next")
	if s.dir == nil {
		s.render(w, http.StatusNotFound, "login.html", s.loginPage(r, next, "password sign-in is not enabled"))
		return
	}
	id, err := s.checkLogin(r, strings.TrimSpace(r.PostForm.Get("user")), r.PostForm.Get("password"))
	switch {
	case errors.Is(err, errLoginThrottled):
		s.render(w, http.StatusTooManyRequests, "login.html", s.loginPage(r, next, err.Error()))
		return
	case err != nil:
		s.render(w, http.StatusUnauthorized, "login.html", s.loginPage(r, next, errLoginFailed.Error()))
		return
	}
	s.startSession(w, r, id)
	s.log.Info("signed in", "user", id.User, "role", string(id.Role))
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

// handleLogout ends the session; the form carries the session's CSRF token.
func (s *server) handleLogout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	sess, ok := s.sessionFor(r)
	if err := r.ParseForm(); err != nil || !ok || !formFromHere(r) ||
		subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(sess.csrf)) != 1 {
		http.Error(w, "not signed in or missing CSRF token", http.StatusForbidden)
		return
	}
	s.endSession(w, r)
	http.Redirect(w, r, "/login?next="+url.QueryEscape(safeNext(r.PostForm.Get("next"))), http.StatusSeeOther)
}

// handleOIDCStart sends the browser to the provider with a fresh state,
// nonce and PKCE verifier.
func (s *server) handleOIDCStart(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	next := safeNext(r.URL.Query().Get("next"))
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	ctx, cancel := context.WithTimeout(r.Context(), loginTimeout)
	defer cancel()
	dest, err := s.oidc.AuthCodeURL(ctx, state, nonce, verifier)
	if err != nil {
		s.log.Error("single sign-on: provider unavailable", "err", err)
		s.render(w, http.StatusBadGateway, "login.html", s.loginPage(r, next, "single sign-on is unavailable; try again later"))
		return
	}
	now := time.Now()
	if !s.pending.add(state, oidcAttempt{nonce: nonce, verifier: verifier, next: next, expires: now.Add(oidcAttemptTTL)}, now) {
		s.render(w, http.StatusServiceUnavailable, "login.html", s.loginPage(r, next, "too many sign-ins in progress; try again later"))
		return
	}
	http.SetCookie(w, s.oidcStateCookie(r, state, int(oidcAttemptTTL/time.Second)))
	http.Redirect(w, r, dest, http.StatusFound)
}

func (s *server) oidcStateCookie(r *http.Request, state string, maxAge int) *http.Cookie {
	c := sessionCookie(r, state, maxAge)
	c.Name, c.Path, c.SameSite = oidcCookie, "/login/oidc", http.SameSiteLaxMode
	return c
}

// handleOIDCCallback checks the provider's answer against the attempt the
// browser started, redeems the code and starts a session.
func (s *server) handleOIDCCallback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	state := q.Get("state")
	c, err := r.Cookie(oidcCookie)
	http.SetCookie(w, s.oidcStateCookie(r, "", -1))
	if err != nil || state == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		s.log.Warn("single sign-on: state does not match this browser", "remote", sourceOf(r))
		s.render(w, http.StatusBadRequest, "login.html", s.loginPage(r, "", "this sign-in has expired or was started elsewhere; try again"))
		return
	}
	a, ok := s.pending.take(state, time.Now())
	if !ok {
		s.render(w, http.StatusBadRequest, "login.html", s.loginPage(r, "", "this sign-in has expired; try again"))
		return
	}
	if e := q.Get("error"); e != "" || q.Get("code") == "" {
		s.log.Warn("single sign-on: provider refused", "error", e)
		s.render(w, http.StatusUnauthorized, "login.html", s.loginPage(r, a.next, "single sign-on failed"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), loginTimeout)
	defer cancel()
	id, err := s.oidc.Exchange(ctx, q.Get("code"), a.verifier, a.nonce)
	if errors.Is(err, auth.ErrNoRole) {
		s.render(w, http.StatusForbidden, "login.html", s.loginPage(r, a.next, "your account may not use this server"))
		return
	}
	if err != nil {
		s.log.Warn("single sign-on failed", "err", err, "remote", sourceOf(r))
		s.render(w, http.StatusUnauthorized, "login.html", s.loginPage(r, a.next, "single sign-on failed"))
		return
	}
	s.startSession(w, r, id)
	s.log.Info("signed in with single sign-on", "user", id.User, "role", string(id.Role))
	http.Redirect(w, r, a.next, http.StatusSeeOther)
}

// formFromHere reports whether a form post comes from a page of this
// site. Our Referrer-Policy (no-referrer) makes browsers send "Origin: null"
// with form posts; then the Fetch Metadata header Sec-Fetch-Site must say
// same-origin.
func formFromHere(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	if r.Header.Get("Origin") == "null" {
		return site == "same-origin"
	}
	return sameOrigin(r) && (site == "" || site == "same-origin")
}

// safeNext returns next when it is a path on this server, else "/": the
// login never redirects to another site.
func safeNext(next string) string {
	if next == "" || len(next) > 1024 || next[0] != '/' || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

// sessionModerates reports whether the session with id belongs to a
// signed-in admin or moderator, who join every room as moderators.
func (s *server) sessionModerates(id string) bool {
	if id == "" {
		return false
	}
	sess, ok := s.sessions.get(id, time.Now())
	return ok && sess.role.Moderates()
}
