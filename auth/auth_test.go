package auth

import (
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/argon2"
)

// writeAdminFile writes a local admin password file as `dialroom admin
// passwd` does (the user line, then an argon2id hash in PHC form).
func writeAdminFile(t *testing.T, user, hash string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin-password")
	writeFile(t, path, user+"\n"+hash+"\n")
	return path
}

// hashPassword returns an argon2id hash of pw in PHC form, as `dialroom
// admin passwd` stores it (with a cheaper cost).
func hashPassword(pw string) string {
	salt := []byte("salt-salt-salt-s")
	key := argon2.IDKey([]byte(pw), salt, 1, 8*1024, 1, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, 8*1024, 1, 1,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

func TestLocalFile(t *testing.T) {
	path := writeAdminFile(t, "admin", hashPassword("correct horse battery"))
	ctx := context.Background()
	tests := []struct {
		name, user, password string
		ok                   bool
	}{
		{"right password", "admin", "correct horse battery", true},
		{"wrong password", "admin", "wrong horse battery", false},
		{"wrong user", "root", "correct horse battery", false},
		{"empty password", "admin", "", false},
		{"no file", "admin", "correct horse battery", false},
	}
	for _, tt := range tests {
		l := LocalFile{Path: path}
		if tt.name == "no file" {
			l.Path = filepath.Join(t.TempDir(), "missing")
		}
		id, err := l.Authenticate(ctx, tt.user, tt.password)
		if tt.ok != (err == nil) || err != nil && err != ErrInvalidCredentials || tt.ok && id.Role != RoleAdmin {
			t.Errorf("%s: got %+v, %v; want ok=%v or ErrInvalidCredentials", tt.name, id, err, tt.ok)
		}
	}
}

func TestRoleMap(t *testing.T) {
	m := RoleMap{Admin: []string{"cn=Admins,dc=x"}, Moderator: []string{"cn=mods,dc=x"}, Others: RoleUser, Equal: equalDN}
	tests := []struct {
		groups []string
		want   Role
	}{
		{nil, RoleUser},
		{[]string{"cn=mods, dc=x"}, RoleModerator},
		{[]string{"CN=mods,DC=x", "cn=admins,dc=X"}, RoleAdmin},
		{[]string{"cn=other,dc=x"}, RoleUser},
	}
	for _, tt := range tests {
		if got := m.Role(tt.groups); got != tt.want {
			t.Errorf("Role(%q): got %q, want %q", tt.groups, got, tt.want)
		}
	}
	m.Others = RoleNone
	if got := m.Role([]string{"cn=other,dc=x"}); got != RoleNone {
		t.Errorf("others refused: got %q, want none", got)
	}
}

// fakeDir accepts one user and password.
type fakeDir struct{ user, password string }

func (f fakeDir) Authenticate(_ context.Context, user, password string) (Identity, error) {
	if user == f.user && password == f.password {
		return Identity{User: user, Role: RoleUser}, nil
	}
	return Identity{}, ErrInvalidCredentials
}

func TestChain(t *testing.T) {
	c := Chain{fakeDir{"a", "1"}, fakeDir{"b", "2"}}
	for _, tt := range []struct {
		user, pw string
		ok       bool
	}{{"a", "1", true}, {"b", "2", true}, {"a", "2", false}, {"c", "3", false}} {
		_, err := c.Authenticate(context.Background(), tt.user, tt.pw)
		if (err == nil) != tt.ok || err != nil && err != ErrInvalidCredentials {
			t.Errorf("%s/%s: got %v, want ok=%v", tt.user, tt.pw, err, tt.ok)
		}
	}
}
