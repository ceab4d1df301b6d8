package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"dialroom/config"
)

// OIDC signs people in through an OpenID Connect provider (Keycloak,
// Authentik, Entra ID …) with the authorization code flow, a state, a nonce
// and PKCE (RFC 7636, S256). web owns the browser side: it keeps state,
// nonce and verifier per login attempt and calls AuthCodeURL and Exchange.
type OIDC struct {
	cfg    config.OIDC
	secret string
	roles  RoleMap
	client *http.Client
	log    *slog.Logger

	mu       sync.Mutex
	provider *oidc.Provider // nil until discovery succeeded
}

// NewOIDC checks cfg (defaults applied) and returns the login. It contacts
// the provider only on the first login, so a provider that is down at
// start-up does not stop the server. client nil means http.DefaultClient.
func NewOIDC(cfg config.OIDC, client *http.Client, log *slog.Logger) (*OIDC, error) {
	cfg = cfg.WithDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if client == nil {
		client = http.DefaultClient
	}
	o := &OIDC{cfg: cfg, secret: cfg.ClientSecret, client: client, log: log,
		roles: RoleMap{Admin: cfg.Roles.Admin, Moderator: cfg.Roles.Moderator, Others: roleOf(cfg.Roles.Others)}}
	if cfg.ClientSecretFile != "" {
		b, err := os.ReadFile(cfg.ClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("oidc: client_secret_file: %w", err)
		}
		o.secret = strings.TrimRight(string(b), "\r\n")
	}
	return o, nil
}

// Label is the login button's text.
func (o *OIDC) Label() string { return o.cfg.Label }

// discover returns the provider's metadata, fetching it once.
func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	p := o.provider
	o.mu.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.client), o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discovery at %s: %w", o.cfg.Issuer, err)
	}
	o.mu.Lock()
	o.provider = p
	o.mu.Unlock()
	return p, nil
}

func (o *OIDC) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.secret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, o.cfg.Scopes...)}
}

// AuthCodeURL returns the provider's login page for one attempt. state and
// nonce are random strings, verifier a PKCE verifier (oauth2.GenerateVerifier).
func (o *OIDC) AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return "", err
	}
	return o.oauth(p).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// ErrNoRole means the provider vouched for the person but none of their
// groups gives a role and others are refused.
var ErrNoRole = errors.New("oidc: the account has no role in dialroom")

// Exchange redeems the code the provider sent back, verifies the ID token
// (signature, issuer, audience, expiry, nonce) and maps its groups claim to
// a role.
func (o *OIDC) Exchange(ctx context.Context, code, verifier, nonce string) (Identity, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	ctx = oidc.ClientContext(ctx, o.client)
	tok, err := o.oauth(p).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("oidc: token exchange: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, errors.New("oidc: token response without id_token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("oidc: id token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 || nonce == "" {
		return Identity{}, errors.New("oidc: id token nonce does not match")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("oidc: claims: %w", err)
	}
	id := identityFromClaims(claims, o.cfg.GroupsClaim)
	if id.User == "" {
		id.User = idt.Subject
	}
	if id.Role = o.roles.Role(id.Groups); id.Role == RoleNone {
		o.log.Info("oidc login refused", "user", id.User, "reason", "no group with a role")
		return Identity{}, ErrNoRole
	}
	o.log.Info("oidc login", "user", id.User, "role", string(id.Role))
	return id, nil
}

// identityFromClaims reads the usual claims; the groups claim may be a
// list or one string.
func identityFromClaims(c map[string]any, groupsClaim string) Identity {
	str := func(k string) string { s, _ := c[k].(string); return s }
	id := Identity{User: str("preferred_username"), DisplayName: str("name"), Mail: str("email")}
	switch g := c[groupsClaim].(type) {
	case string:
		id.Groups = []string{g}
	case []any:
		for _, v := range g {
			if s, ok := v.(string); ok {
				id.Groups = append(id.Groups, s)
			}
		}
	}
	if id.DisplayName == "" {
		id.DisplayName = id.User
	}
	return id
}
