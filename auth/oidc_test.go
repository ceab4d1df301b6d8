package auth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/oauth2"

	"dialroom/config"
)

// startMockOIDC runs a mock OpenID provider on loopback for the test. It
// stands in for Keycloak, which cannot run here; only tests import it.
func startMockOIDC(t *testing.T) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

// authorize follows the provider's login page (the mock signs the queued
// user in at once) and returns the code and state sent to the redirect URL.
func authorize(t *testing.T, loginURL string) (code, state string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(loginURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("authorize: got %d %q, want a redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

func TestOIDC(t *testing.T) {
	m := startMockOIDC(t)
	cfg := config.OIDC{Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret,
		RedirectURL: "http://127.0.0.1:1/login/oidc/callback", Scopes: []string{"profile", "email", "groups"},
		Roles: config.Roles{Admin: []string{"dialroom-admins"}, Moderator: []string{"hosts"}}}
	ctx := context.Background()
	tests := []struct {
		name     string
		groups   []string
		others   string
		tamper   func(code, verifier, nonce *string)
		wantRole Role
		wantErr  string
	}{
		{"admin", []string{"staff", "dialroom-admins"}, "", nil, RoleAdmin, ""},
		{"moderator", []string{"hosts"}, "", nil, RoleModerator, ""},
		{"user", []string{"staff"}, "user", nil, RoleUser, ""},
		{"refused without a role", []string{"staff"}, "none", nil, RoleNone, ErrNoRole.Error()},
		{"wrong nonce", []string{"hosts"}, "", func(_, _, n *string) { *n = "other" }, RoleNone, "nonce"},
		{"wrong PKCE verifier", []string{"hosts"}, "", func(_, v *string, _ *string) { *v = oauth2.GenerateVerifier() }, RoleNone, "token exchange"},
		{"code used twice", []string{"hosts"}, "", nil, RoleNone, "token exchange"},
	}
	for _, tt := range tests {
		c := cfg
		c.Roles.Others = tt.others
		o, err := NewOIDC(c, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		m.QueueUser(&mockoidc.MockUser{Subject: "s-1", PreferredUsername: "jane", Email: "jane@example.com", Groups: tt.groups})
		state, nonce, verifier := "st-"+tt.name, "nonce-"+tt.name, oauth2.GenerateVerifier()
		loginURL, err := o.AuthCodeURL(ctx, state, nonce, verifier)
		if err != nil {
			t.Fatal(err)
		}
		if u, _ := url.Parse(loginURL); u.Query().Get("code_challenge_method") != "S256" || u.Query().Get("nonce") != nonce {
			t.Errorf("%s: login URL %s lacks the S256 challenge or nonce", tt.name, loginURL)
		}
		code, gotState := authorize(t, loginURL)
		if gotState != state {
			t.Errorf("%s: state came back as %q, want %q", tt.name, gotState, state)
		}
		if tt.tamper != nil {
			tt.tamper(&code, &verifier, &nonce)
		}
		if tt.name == "code used twice" {
			if _, err := o.Exchange(ctx, code, verifier, nonce); err != nil {
				t.Fatalf("%s: first exchange: %v", tt.name, err)
			}
		}
		id, err := o.Exchange(ctx, code, verifier, nonce)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || tt.others == "none" && !errors.Is(err, ErrNoRole) {
				t.Errorf("%s: got %+v, %v; want an error about %q", tt.name, id, err, tt.wantErr)
			}
			continue
		}
		if err != nil || id.Role != tt.wantRole || id.User != "jane" || id.Mail != "jane@example.com" {
			t.Errorf("%s: got %+v, %v; want jane with role %q", tt.name, id, err, tt.wantRole)
		}
	}
}

func TestOIDCProviderDown(t *testing.T) {
	o, err := NewOIDC(config.OIDC{Issuer: "http://127.0.0.1:1/realms/x", ClientID: "c",
		RedirectURL: "http://127.0.0.1:1/login/oidc/callback"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.AuthCodeURL(context.Background(), "s", "n", "v"); err == nil || !strings.Contains(err.Error(), "discovery") {
		t.Errorf("got %v, want a discovery error", err)
	}
}
