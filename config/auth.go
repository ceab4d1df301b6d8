package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Auth configures who may sign in: the local admin account (always, from
// the file `dialroom admin passwd` writes) and, optionally, an LDAP or
// Active Directory server and an OpenID Connect provider.
type Auth struct {
	// LDAP, when set, checks user names and passwords against a directory.
	LDAP *LDAP `yaml:"ldap"`
	// OIDC, when set, adds a "single sign-on" button (authorization code
	// flow with PKCE).
	OIDC *OIDC `yaml:"oidc"`
}

// Roles maps a directory's groups to dialroom roles: admin (console and
// moderator everywhere), moderator (moderator in every room), user.
type Roles struct {
	// Admin lists the groups whose members are admins.
	Admin []string `yaml:"admin"`
	// Moderator lists the groups whose members are moderators.
	Moderator []string `yaml:"moderator"`
	// Others is the role of everyone else the directory knows: "user"
	// (default) or "none" to refuse their login.
	Others string `yaml:"others"`
}

// LDAP configures an LDAP or Active Directory server. A login binds with
// the service account, searches the user, then binds as the user.
type LDAP struct {
	// URL is ldap://host[:389] or ldaps://host[:636].
	URL string `yaml:"url"`
	// StartTLS upgrades an ldap:// connection to TLS before binding.
	StartTLS bool `yaml:"start_tls"`
	// CAFile is a PEM file of CAs that sign the server's certificate; ""
	// means the system's roots.
	CAFile string `yaml:"ca_file"`
	// BindDN is the service account's DN; "" searches anonymously.
	BindDN string `yaml:"bind_dn"`
	// BindPassword is the service account's password.
	BindPassword string `yaml:"bind_password"`
	// BindPasswordFile, when set, holds the password instead (trailing
	// newline ignored), so that it need not be in this file.
	BindPasswordFile string `yaml:"bind_password_file"`
	// BaseDN is where users are searched (whole subtree).
	BaseDN string `yaml:"base_dn"`
	// UserAttribute holds the login name: "uid" (default, OpenLDAP) or
	// "sAMAccountName" (Active Directory).
	UserAttribute string `yaml:"user_attribute"`
	// UserFilter narrows the search to people, e.g.
	// "(&(objectCategory=person)(objectClass=user))"; default
	// "(objectClass=person)". The escaped login name is ANDed to it.
	UserFilter string `yaml:"user_filter"`
	// DisplayNameAttribute defaults to displayName.
	DisplayNameAttribute string `yaml:"display_name_attribute"`
	// MailAttribute defaults to mail.
	MailAttribute string `yaml:"mail_attribute"`
	// GroupAttribute is the user's attribute that lists group DNs;
	// default memberOf. Ignored when GroupBaseDN is set.
	GroupAttribute string `yaml:"group_attribute"`
	// GroupBaseDN, when set, finds groups by searching there with
	// GroupFilter instead of reading GroupAttribute.
	GroupBaseDN string `yaml:"group_base_dn"`
	// GroupFilter finds the user's groups; {dn} is replaced by the
	// user's escaped DN. Default "(|(member={dn})(uniqueMember={dn}))".
	GroupFilter string `yaml:"group_filter"`
	// Timeout bounds connecting and each request; default 5s.
	Timeout time.Duration `yaml:"timeout"`
	// Roles maps group DNs (compared case-insensitively) to roles.
	Roles Roles `yaml:"roles"`
}

// OIDC configures an OpenID Connect provider such as Keycloak.
type OIDC struct {
	// Issuer is the provider's issuer URL, e.g.
	// https://sso.example.com/realms/acme (discovery is read from
	// ISSUER/.well-known/openid-configuration).
	Issuer string `yaml:"issuer"`
	// ClientID is this server's client ID at the provider.
	ClientID string `yaml:"client_id"`
	// ClientSecret is the client's secret.
	ClientSecret string `yaml:"client_secret"`
	// ClientSecretFile, when set, holds the secret instead.
	ClientSecretFile string `yaml:"client_secret_file"`
	// RedirectURL is https://HOST/login/oidc/callback as registered at the
	// provider.
	RedirectURL string `yaml:"redirect_url"`
	// Scopes are asked for besides openid; default [profile, email].
	Scopes []string `yaml:"scopes"`
	// GroupsClaim is the ID token claim that lists groups; default
	// "groups".
	GroupsClaim string `yaml:"groups_claim"`
	// Label is the login button's text; default "Single sign-on".
	Label string `yaml:"label"`
	// Roles maps the claim's group names (exact match) to roles.
	Roles Roles `yaml:"roles"`
}

// WithDefaults returns l with zero values replaced by the defaults.
func (l LDAP) WithDefaults() LDAP {
	str(&l.UserAttribute, "uid")
	str(&l.UserFilter, "(objectClass=person)")
	str(&l.DisplayNameAttribute, "displayName")
	str(&l.MailAttribute, "mail")
	str(&l.GroupAttribute, "memberOf")
	str(&l.GroupFilter, "(|(member={dn})(uniqueMember={dn}))")
	if l.Timeout == 0 {
		l.Timeout = 5 * time.Second
	}
	str(&l.Roles.Others, "user")
	return l
}

// WithDefaults returns o with zero values replaced by the defaults.
func (o OIDC) WithDefaults() OIDC {
	if o.Scopes == nil {
		o.Scopes = []string{"profile", "email"}
	}
	str(&o.GroupsClaim, "groups")
	str(&o.Label, "Single sign-on")
	str(&o.Roles.Others, "user")
	return o
}

func (c Config) validateAuth() error {
	if c.Auth.LDAP != nil {
		if err := c.Auth.LDAP.WithDefaults().validate(); err != nil {
			return fmt.Errorf("auth.ldap.%w", err)
		}
	}
	if c.Auth.OIDC != nil {
		if err := c.Auth.OIDC.WithDefaults().validate(); err != nil {
			return fmt.Errorf("auth.oidc.%w", err)
		}
	}
	return nil
}

// validate returns the first problem, starting with the key's name below
// auth.ldap.
func (l LDAP) validate() error {
	u, err := url.Parse(l.URL)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		return fmt.Errorf("url: %q must be ldap://HOST[:PORT] or ldaps://HOST[:PORT]", l.URL)
	}
	if l.StartTLS && u.Scheme == "ldaps" {
		return fmt.Errorf("start_tls: not with ldaps:// (that is TLS already)")
	}
	if l.BindPassword != "" && l.BindPasswordFile != "" {
		return fmt.Errorf("bind_password_file: set either bind_password or bind_password_file")
	}
	if l.BaseDN == "" {
		return fmt.Errorf("base_dn: required, e.g. ou=people,dc=example,dc=com")
	}
	if !wrapped(l.UserFilter) {
		return fmt.Errorf("user_filter: %q must be one LDAP filter in parentheses", l.UserFilter)
	}
	if l.GroupBaseDN != "" && (!wrapped(l.GroupFilter) || !strings.Contains(l.GroupFilter, "{dn}")) {
		return fmt.Errorf("group_filter: %q must be one LDAP filter in parentheses containing {dn}", l.GroupFilter)
	}
	for key, v := range map[string]string{"user_attribute": l.UserAttribute, "display_name_attribute": l.DisplayNameAttribute,
		"mail_attribute": l.MailAttribute, "group_attribute": l.GroupAttribute} {
		if !attrName(v) {
			return fmt.Errorf("%s: %q is not an attribute name", key, v)
		}
	}
	if l.Timeout < 100*time.Millisecond || l.Timeout > time.Minute {
		return fmt.Errorf("timeout: %v must be between 100ms and 1m", l.Timeout)
	}
	return l.Roles.validate()
}

func (o OIDC) validate() error {
	if u, err := url.Parse(o.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("issuer: %q must be an https:// (or, for tests, http://) URL", o.Issuer)
	}
	if o.ClientID == "" {
		return fmt.Errorf("client_id: required")
	}
	if o.ClientSecret != "" && o.ClientSecretFile != "" {
		return fmt.Errorf("client_secret_file: set either client_secret or client_secret_file")
	}
	u, err := url.Parse(o.RedirectURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "/login/oidc/callback" {
		return fmt.Errorf("redirect_url: %q must be https://HOST/login/oidc/callback", o.RedirectURL)
	}
	if o.GroupsClaim == "" {
		return fmt.Errorf("groups_claim: must not be empty")
	}
	return o.Roles.validate()
}

func (r Roles) validate() error {
	switch r.Others {
	case "user", "none":
	default:
		return fmt.Errorf("roles.others: %q is not one of user, none", r.Others)
	}
	for i, g := range r.Admin {
		if strings.TrimSpace(g) == "" {
			return fmt.Errorf("roles.admin[%d]: empty group", i)
		}
	}
	for i, g := range r.Moderator {
		if strings.TrimSpace(g) == "" {
			return fmt.Errorf("roles.moderator[%d]: empty group", i)
		}
	}
	return nil
}

// wrapped reports whether s looks like one parenthesised LDAP filter with
// balanced parentheses. The LDAP client parses it fully at startup.
func wrapped(s string) bool {
	if len(s) < 3 || s[0] != '(' || s[len(s)-1] != ')' {
		return false
	}
	depth := 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 && i != len(s)-1 || depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

// attrName reports whether s is an LDAP attribute description (letters,
// digits, hyphen; or a dotted OID).
func attrName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == ';') {
			return false
		}
	}
	return true
}
