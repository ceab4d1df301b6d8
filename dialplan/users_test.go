package dialplan

import (
	"errors"
	"strings"
	"testing"
)

func TestLocalUsers(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, t.TempDir())
	const pw = "correct horse battery"
	if err := s.AddUser(ctx, User{Name: "alice", DisplayName: "Alice Liddell", Role: UserRoleModerator}, pw); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		u    User
		pw   string
		want error
	}{
		{User{Name: "alice", Role: UserRoleUser}, pw, ErrExists},
		{User{Name: "Bob", Role: UserRoleUser}, pw, ErrInvalid},
		{User{Name: "bob", Role: "root"}, pw, ErrInvalid},
		{User{Name: "bob", Role: UserRoleUser}, "short", ErrInvalid},
		{User{Name: "bob", DisplayName: "Bob\x00", Role: UserRoleUser}, pw, ErrInvalid},
	} {
		if err := s.AddUser(ctx, c.u, c.pw); !errors.Is(err, c.want) {
			t.Errorf("AddUser(%+v): %v, want %v", c.u, err, c.want)
		}
	}
	if u, ok, err := s.CheckUser(ctx, "alice", pw); err != nil || !ok || u.Role != UserRoleModerator || u.DisplayName != "Alice Liddell" {
		t.Errorf("right password: %+v %v %v", u, ok, err)
	}
	for _, c := range [][2]string{{"alice", "wrong password"}, {"nobody", pw}, {"alice", ""}} {
		if _, ok, err := s.CheckUser(ctx, c[0], c[1]); ok || err != nil {
			t.Errorf("CheckUser(%q, %q): ok %v err %v, want refused", c[0], c[1], ok, err)
		}
	}
	var hash string
	if err := s.db.QueryRowContext(ctx, `SELECT pass_hash FROM users WHERE name = 'alice'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, pw) {
		t.Errorf("stored hash %q: want argon2id without the password", hash)
	}
	if err := s.SetUserRole(ctx, "alice", UserRoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserPassword(ctx, "alice", "another long one"); err != nil {
		t.Fatal(err)
	}
	if u, ok, _ := s.CheckUser(ctx, "alice", "another long one"); !ok || u.Role != UserRoleAdmin {
		t.Errorf("after role and password change: %+v %v", u, ok)
	}
	if _, ok, _ := s.CheckUser(ctx, "alice", pw); ok {
		t.Error("the old password still works")
	}
	if err := s.SetUserRole(ctx, "nobody", UserRoleUser); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetUserRole of an unknown user: %v", err)
	}
	users, err := s.Users(ctx)
	if err != nil || len(users) != 1 || users[0].Name != "alice" {
		t.Errorf("Users: %+v %v", users, err)
	}
	if err := s.RemoveUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveUser(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second RemoveUser: %v", err)
	}
}
