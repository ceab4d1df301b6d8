package auth

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"os"
	"strings"

	"dialroom/dialplan"
)

// LocalFile is the local admin account: the file that `dialroom admin
// passwd` writes (a user name line and an argon2id hash line). Its user has
// the role admin. The file is read on every login, so a new password needs
// no restart.
type LocalFile struct {
	Path string
	Log  *slog.Logger // nil logs nothing
}

// Authenticate implements Directory.
func (l LocalFile) Authenticate(_ context.Context, user, password string) (Identity, error) {
	if !validInput(user, password) {
		return Identity{}, ErrInvalidCredentials
	}
	b, err := os.ReadFile(l.Path)
	if err != nil {
		l.logf("local login: no admin password file", "err", err)
		return Identity{}, ErrInvalidCredentials
	}
	wantUser, hash, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	okUser := subtle.ConstantTimeCompare([]byte(user), []byte(wantUser)) == 1
	// The hash is checked even for another user, so that the answer takes
	// as long whether the name is right or not.
	okPass := dialplan.CheckPIN(strings.TrimSpace(hash), password)
	if !okUser || !okPass {
		l.logf("local login refused", "reason", map[bool]string{true: "wrong password", false: "unknown user"}[okUser])
		return Identity{}, ErrInvalidCredentials
	}
	return Identity{User: wantUser, DisplayName: wantUser, Role: RoleAdmin}, nil
}

func (l LocalFile) logf(msg string, args ...any) {
	if l.Log != nil {
		l.Log.Debug(msg, args...)
	}
}

// UserChecker checks a local account's password (dialplan.Store).
type UserChecker interface {
	CheckUser(ctx context.Context, name, password string) (dialplan.User, bool, error)
}

// LocalUsers are the local accounts of `dialroom user add`, stored in the
// database with their role.
type LocalUsers struct {
	Users UserChecker
	Log   *slog.Logger // nil logs nothing
}

// Authenticate implements Directory.
func (l LocalUsers) Authenticate(ctx context.Context, user, password string) (Identity, error) {
	if !validInput(user, password) {
		return Identity{}, ErrInvalidCredentials
	}
	u, ok, err := l.Users.CheckUser(ctx, user, password)
	if err != nil {
		if l.Log != nil {
			l.Log.Warn("local account check failed", "err", err)
		}
		return Identity{}, ErrInvalidCredentials
	}
	if !ok {
		if l.Log != nil {
			l.Log.Debug("local account login refused")
		}
		return Identity{}, ErrInvalidCredentials
	}
	name := u.DisplayName
	if name == "" {
		name = u.Name
	}
	return Identity{User: u.Name, DisplayName: name, Role: Role(u.Role)}, nil
}
