package dialplan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"
)

// Local user accounts: people who sign in to meetings (and, with the admin
// role, to the console) without a directory server. `dialroom user add`
// creates them; auth.LocalUsers checks their passwords. Roles are the same
// words as the directory's role mapping.
const (
	UserRoleAdmin     = "admin"
	UserRoleModerator = "moderator"
	UserRoleUser      = "user"
)

// MinPasswordLen is the shortest password a local account accepts.
const MinPasswordLen = 10

var userNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{0,63}$`)

// User is a local account (never its password or hash).
type User struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"displayName"`
	Role        string    `json:"role"`
	CreatedAt   time.Time `json:"createdAt"`
}

func validateUser(name, display, role string) error {
	if !userNamePattern.MatchString(name) {
		return invalidf("user name %.64q: use 1-64 lower-case letters, digits and . _ @ -, starting with a letter or digit", name)
	}
	if display != "" {
		if err := validateName(display); err != nil {
			return err
		}
	}
	switch role {
	case UserRoleAdmin, UserRoleModerator, UserRoleUser:
		return nil
	}
	return invalidf("role %.32q is not one of admin, moderator, user", role)
}

func validatePassword(password string) error {
	if len(password) < MinPasswordLen {
		return invalidf("the password needs at least %d characters", MinPasswordLen)
	}
	return nil
}

// AddUser creates a local account with password (stored as an argon2id
// hash only).
func (s *Store) AddUser(ctx context.Context, u User, password string) error {
	if err := validateUser(u.Name, u.DisplayName, u.Role); err != nil {
		return err
	}
	if err := validatePassword(password); err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO users (name, display_name, role, pass_hash, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`, u.Name, u.DisplayName, u.Role, hash, time.Now().Unix())
	if err != nil {
		return fmt.Errorf("add user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return existsf("user %q exists", u.Name)
	}
	return nil
}

// SetUserPassword replaces a local account's password.
func (s *Store) SetUserPassword(ctx context.Context, name, password string) error {
	if err := validatePassword(password); err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return s.updateUser(ctx, name, `UPDATE users SET pass_hash = ? WHERE name = ?`, hash, name)
}

// SetUserRole changes a local account's role; it applies at the user's
// next sign-in.
func (s *Store) SetUserRole(ctx context.Context, name, role string) error {
	if err := validateUser(name, "", role); err != nil {
		return err
	}
	return s.updateUser(ctx, name, `UPDATE users SET role = ? WHERE name = ?`, role, name)
}

// RemoveUser deletes a local account.
func (s *Store) RemoveUser(ctx context.Context, name string) error {
	return s.updateUser(ctx, name, `DELETE FROM users WHERE name = ?`, name)
}

func (s *Store) updateUser(ctx context.Context, name, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("user %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFoundf("no user %q", name)
	}
	return nil
}

// Users lists the local accounts by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, display_name, role, created_at FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var created int64
		if err := rows.Scan(&u.Name, &u.DisplayName, &u.Role, &created); err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		u.CreatedAt = time.Unix(created, 0)
		out = append(out, u)
	}
	return out, rows.Err()
}

// dummyHash is checked when a user does not exist, so that an unknown name
// takes as long to refuse as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("no such user, no such password")
	return h
})

// CheckUser reports the account name signs in as when password is right;
// ok is false for an unknown user or a wrong password alike.
func (s *Store) CheckUser(ctx context.Context, name, password string) (u User, ok bool, err error) {
	var hash string
	var created int64
	err = s.db.QueryRowContext(ctx, `SELECT name, display_name, role, pass_hash, created_at FROM users WHERE name = ?`, name).
		Scan(&u.Name, &u.DisplayName, &u.Role, &hash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		CheckPIN(dummyHash(), password)
		return User{}, false, nil
	}
	if err != nil {
		return User{}, false, fmt.Errorf("check user: %w", err)
	}
	if !CheckPIN(hash, password) {
		return User{}, false, nil
	}
	u.CreatedAt = time.Unix(created, 0)
	return u, true, nil
}
