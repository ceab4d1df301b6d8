package web

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"time"

	"dialroom/dialplan"
)

// apiToken is an admin API token as /api/v1/tokens shows it: never the
// token itself, except once in the answer that creates it.
type apiToken struct {
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	CreatedAt int64    `json:"createdAt"`       // Unix seconds
	ExpiresAt int64    `json:"expiresAt"`       // Unix seconds; 0: never
	LastUsed  int64    `json:"lastUsed"`        // Unix seconds; 0: never (not tracked for the file token)
	Expired   bool     `json:"expired"`         // past ExpiresAt: refused
	File      bool     `json:"file,omitempty"`  // the token file's token ("default")
	Token     string   `json:"token,omitempty"` // only when just created
}

func toAPIToken(t dialplan.APIToken, now time.Time) apiToken {
	return apiToken{Name: t.Name, Scopes: t.Scopes, CreatedAt: t.CreatedAt.Unix(), ExpiresAt: unixOrZero(t.ExpiresAt),
		LastUsed: unixOrZero(t.LastUsed), Expired: t.Expired(now)}
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// routeTokens adds /api/v1/tokens and the room link and access endpoints
// (modtoken_api.go) next to the admin API, and returns mux wrapped in
// tokenGuard. Without the admin API there is nothing to add.
func (s *server) routeTokens(mux *http.ServeMux) http.Handler {
	if s.admin == nil || s.adminTokenFile == "" {
		return mux
	}
	api := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.requireAdmin(h)) }
	api("GET /api/v1/tokens", s.apiTokens)
	api("POST /api/v1/tokens", s.apiAddToken)
	api("DELETE /api/v1/tokens/{name}", s.apiRevokeToken)
	s.routeLinks(api)
	return s.tokenGuard(mux)
}

// fileToken describes the token file's token, if there is one.
func (s *server) fileToken() (dialplan.APIToken, bool) {
	st, err := os.Stat(s.adminTokenFile)
	if err != nil || st.Size() == 0 {
		return dialplan.APIToken{}, false
	}
	return dialplan.APIToken{Name: dialplan.DefaultTokenName, Scopes: []string{dialplan.ScopeAdmin}, CreatedAt: st.ModTime()}, true
}

func (s *server) apiTokens(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	out := []apiToken{}
	if t, ok := s.fileToken(); ok {
		a := toAPIToken(t, now)
		a.File = true
		out = append(out, a)
	}
	if ts := s.tokenStore(); ts != nil {
		list, err := ts.APITokens(r.Context())
		if err != nil {
			s.storeError(w, "list tokens", err)
			return
		}
		for _, t := range list {
			out = append(out, toAPIToken(t, now))
		}
	}
	writeAPIJSON(w, http.StatusOK, out)
}

// addTokenRequest is the body of POST /api/v1/tokens.
type addTokenRequest struct {
	Name    string   `json:"name"`
	Scopes  []string `json:"scopes"`
	Expires string   `json:"expires"` // "90d", "12h", "" or "never"
}

func (s *server) apiAddToken(w http.ResponseWriter, r *http.Request) {
	ts := s.tokenStore()
	if ts == nil {
		writeAPIError(w, http.StatusNotImplemented, "unsupported", "named tokens need the database store")
		return
	}
	var in addTokenRequest
	if !decodeBody(w, r, &in) {
		return
	}
	life, err := dialplan.ParseLifetime(in.Expires)
	if err != nil {
		s.storeError(w, "add token", err)
		return
	}
	now := time.Now()
	token, t, err := ts.AddAPIToken(r.Context(), in.Name, in.Scopes, life, now)
	if err != nil {
		s.storeError(w, "add token", err)
		return
	}
	s.audit(r, "token.add", t.Name, "scopes "+strings.Join(t.Scopes, " "))
	a := toAPIToken(t, now)
	a.Token = token
	writeAPIJSON(w, http.StatusCreated, a)
}

func (s *server) apiRevokeToken(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var err error
	if name == dialplan.DefaultTokenName {
		err = os.Remove(s.adminTokenFile)
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("no token named %q: %w", name, dialplan.ErrNotFound)
		}
	} else if ts := s.tokenStore(); ts != nil {
		err = ts.RevokeAPIToken(r.Context(), name)
	} else {
		err = fmt.Errorf("no token named %q: %w", name, dialplan.ErrNotFound)
	}
	if err != nil {
		s.storeError(w, "revoke token", err)
		return
	}
	s.audit(r, "token.revoke", name, "")
	w.WriteHeader(http.StatusNoContent)
}
