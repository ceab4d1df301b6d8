// Package auth owns who a person is: it checks a user name and password
// against a directory (the local admin password file, LDAP or Active
// Directory) or completes an OpenID Connect login, and maps the person's
// groups to a dialroom role. It does not own sessions, cookies or rate
// limits (web does) nor what a role may do in a room (sfu does).
package auth

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"dialroom/config"
)

// Role is what a signed-in person may do in dialroom.
type Role string

// The roles, from most to least privileged. RoleNone refuses the login.
const (
	// RoleAdmin may use the admin console and moderates every room.
	RoleAdmin Role = "admin"
	// RoleModerator joins every room as a moderator.
	RoleModerator Role = "moderator"
	// RoleUser joins rooms as a participant, like anyone with the link.
	RoleUser Role = "user"
	// RoleNone is no role: the login is refused.
	RoleNone Role = ""
)

// Moderates reports whether r joins rooms as a moderator.
func (r Role) Moderates() bool { return r == RoleAdmin || r == RoleModerator }

// Identity is a person the directory vouched for.
type Identity struct {
	User        string   // the login name (uid, sAMAccountName, preferred_username)
	DisplayName string   // for tiles and the console; may be ""
	Mail        string   // may be ""
	Groups      []string // group DNs (LDAP) or names (OIDC claim)
	Role        Role
}

// ErrInvalidCredentials is the one error a caller sees for a wrong password,
// an unknown user, a user without a role, a locked account or an
// unreachable directory, so that an attacker learns nothing about which
// names exist. The directory logs the real reason.
var ErrInvalidCredentials = errors.New("wrong user name or password")

// Directory checks a user name and password.
type Directory interface {
	// Authenticate returns the identity of user when password is right;
	// every failure is ErrInvalidCredentials.
	Authenticate(ctx context.Context, user, password string) (Identity, error)
}

// maxUserLen bounds a user name; longer input is refused before it reaches
// a directory.
const maxUserLen = 256

// validInput reports whether user and password may be sent to a directory:
// non-empty (an LDAP bind with an empty password is an anonymous bind that
// succeeds), bounded, and without NUL or line breaks.
func validInput(user, password string) bool {
	return user != "" && password != "" && len(user) <= maxUserLen && len(password) <= 1024 &&
		!strings.ContainsAny(user, "\x00\r\n") && !strings.ContainsRune(password, 0)
}

// Chain tries each directory in order and returns the first identity.
type Chain []Directory

// Authenticate implements Directory.
func (c Chain) Authenticate(ctx context.Context, user, password string) (Identity, error) {
	for _, d := range c {
		id, err := d.Authenticate(ctx, user, password)
		if err == nil {
			return id, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return Identity{}, ErrInvalidCredentials
}

// RoleMap maps group memberships to a role.
type RoleMap struct {
	// Admin and Moderator list the groups whose members get that role.
	Admin, Moderator []string
	// Others is the role of a person in neither list: RoleUser, or
	// RoleNone to refuse them.
	Others Role
	// Equal compares a configured group with a member's group; nil means
	// exact comparison.
	Equal func(configured, got string) bool
}

// Role returns the highest role that groups give.
func (m RoleMap) Role(groups []string) Role {
	eq := m.Equal
	if eq == nil {
		eq = func(a, b string) bool { return a == b }
	}
	in := func(list []string) bool {
		for _, want := range list {
			for _, g := range groups {
				if eq(want, g) {
					return true
				}
			}
		}
		return false
	}
	switch {
	case in(m.Admin):
		return RoleAdmin
	case in(m.Moderator):
		return RoleModerator
	}
	return m.Others
}

// FromConfig builds the password directory: the local admin account in
// adminPasswordFile first, then the local accounts in users (nil: none),
// then LDAP when configured. It also returns the
// OpenID Connect login, or nil when none is configured.
func FromConfig(cfg config.Auth, adminPasswordFile string, users UserChecker, log *slog.Logger) (Directory, *OIDC, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	chain := Chain{LocalFile{Path: adminPasswordFile, Log: log}}
	if users != nil {
		chain = append(chain, LocalUsers{Users: users, Log: log})
	}
	if cfg.LDAP != nil {
		l, err := NewLDAP(*cfg.LDAP, log)
		if err != nil {
			return nil, nil, err
		}
		chain = append(chain, l)
	}
	var o *OIDC
	if cfg.OIDC != nil {
		var err error
		if o, err = NewOIDC(*cfg.OIDC, nil, log); err != nil {
			return nil, nil, err
		}
	}
	return chain, o, nil
}
