package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"dialroom/dialplan"
)

// Admin API tokens. There are two kinds, both sent as
// "Authorization: Bearer TOKEN" and both stored only as a SHA-256:
//
//   - named tokens in the database (TokenStore), each with scopes and an
//     optional expiry, made and revoked with `dialroom admin token add/
//     revoke` or /api/v1/tokens;
//   - the single token of the token file (NewAdminToken), listed as
//     "default" with the admin scope, kept so that existing set-ups work.
//
// tokenGuard checks a bearer token's scope before any /api/v1 handler
// runs; requireAdmin (admin_api.go) then lets the request in through
// adminAuthorized.

// TokenStore keeps the named admin API tokens. An AdminStore that also
// implements it (dialplan.Store does) enables named tokens and
// /api/v1/tokens.
type TokenStore interface {
	AddAPIToken(ctx context.Context, name string, scopes []string, lifetime time.Duration, now time.Time) (string, dialplan.APIToken, error)
	APITokens(ctx context.Context) ([]dialplan.APIToken, error)
	RevokeAPIToken(ctx context.Context, name string) error
	CheckAPIToken(ctx context.Context, token string, now time.Time) (dialplan.APIToken, error)
}

// tokenStore returns the admin store's named tokens, or nil.
func (s *server) tokenStore() TokenStore {
	t, _ := s.admin.(TokenStore)
	return t
}

// NewAdminToken writes a fresh admin API token's SHA-256 hash to the file at
// path (mode 0600, replacing any earlier token) and returns the token. The
// token itself is stored nowhere: show it to the admin once. It has the
// admin scope; named tokens (TokenStore) can have less.
func NewAdminToken(path string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	token := dialplan.TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(dialplan.HashToken(token)+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	return token, nil
}

// bearerToken returns the token of r's "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	token = strings.TrimSpace(token)
	return token, ok && token != ""
}

// Why a bearer token was not accepted.
var (
	errTokenUnknown = errors.New("unknown token")
	errTokenExpired = errors.New("token expired")
)

// checkBearer finds the token: the token file's (named "default", admin
// scope) or a named one. The file is read on every request, so `dialroom
// admin token` takes effect without a restart.
func (s *server) checkBearer(ctx context.Context, token string, now time.Time) (dialplan.APIToken, error) {
	if s.fileTokenMatches(token) {
		return dialplan.APIToken{Name: dialplan.DefaultTokenName, Scopes: []string{dialplan.ScopeAdmin}}, nil
	}
	ts := s.tokenStore()
	if ts == nil {
		return dialplan.APIToken{}, errTokenUnknown
	}
	t, err := ts.CheckAPIToken(ctx, token, now)
	switch {
	case errors.Is(err, dialplan.ErrTokenExpired):
		return t, errTokenExpired
	case errors.Is(err, dialplan.ErrNotFound):
		return t, errTokenUnknown
	case err != nil:
		s.log.Error("admin api: check token", "err", err)
		return t, errTokenUnknown
	}
	return t, nil
}

// fileTokenMatches reports in constant time whether token's hash is the
// one in the token file.
func (s *server) fileTokenMatches(token string) bool {
	if s.adminTokenFile == "" {
		return false
	}
	want, err := os.ReadFile(s.adminTokenFile)
	if err != nil {
		return false
	}
	got := dialplan.HashToken(token)
	return subtle.ConstantTimeCompare([]byte(got), []byte(strings.TrimSpace(string(want)))) == 1
}

// tokenKey is the context key of the token tokenGuard accepted.
type tokenKey struct{}

// requestToken returns the API token tokenGuard accepted for r.
func requestToken(r *http.Request) (dialplan.APIToken, bool) {
	t, ok := r.Context().Value(tokenKey{}).(dialplan.APIToken)
	return t, ok
}

// adminAuthorized reports whether r carries a valid admin API token (its
// scope is checked earlier, by tokenGuard).
func (s *server) adminAuthorized(r *http.Request) bool {
	if _, ok := requestToken(r); ok {
		return true
	}
	token, ok := bearerToken(r)
	if !ok {
		return false
	}
	_, err := s.checkBearer(r.Context(), token, time.Now())
	return err == nil
}

// tokenGuard wraps the whole handler. A request to /api/v1 that carries a
// bearer token gets 401 when the token is unknown or expired and 403 when
// it lacks the scope the endpoint needs (requiredScope), with the
// WWW-Authenticate error of RFC 6750 section 3.1. Otherwise the accepted
// token rides along in the request's context.
func (s *server) tokenGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok || !strings.HasPrefix(r.URL.Path, "/api/v1/") {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		t, err := s.checkBearer(r.Context(), token, time.Now())
		switch {
		case errors.Is(err, errTokenExpired):
			w.Header().Set("WWW-Authenticate", `Bearer realm="dialroom", error="invalid_token", error_description="token expired"`)
			writeAPIError(w, http.StatusUnauthorized, "token_expired", "this admin token has expired; ask an admin for a new one")
			return
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Bearer realm="dialroom", error="invalid_token"`)
			writeAPIError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong admin token")
			return
		}
		need := requiredScope(r.Method, r.URL.Path)
		if !dialplan.Grants(t.Scopes, need) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="dialroom", error="insufficient_scope", scope=%q`, need))
			writeAPIError(w, http.StatusForbidden, "insufficient_scope",
				fmt.Sprintf("this token (scopes: %s) lacks the scope %s", strings.Join(t.Scopes, " "), need))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, t)))
	})
}

// requiredScope is the scope a request to the admin API needs. Reading
// needs x:read, changing x:write; tokens and every endpoint not listed
// here need admin, so a new endpoint is closed to narrow tokens until it
// is added.
func requiredScope(method, path string) string {
	rest := strings.TrimPrefix(path, "/api/v1/")
	resource, _, _ := strings.Cut(rest, "/")
	read := method == http.MethodGet || method == http.MethodHead
	pick := func(prefix string) string {
		if read {
			return prefix + ":read"
		}
		return prefix + ":write"
	}
	switch resource {
	case "rooms", "numbers":
		return pick("rooms")
	case "trunks":
		if read {
			return dialplan.ScopeRoomsRead
		}
	case "live":
		return pick("live")
	case "audit":
		if read {
			return dialplan.ScopeAuditRead
		}
	}
	return dialplan.ScopeAdmin
}
