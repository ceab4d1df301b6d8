package web

import (
	"fmt"
	"testing"

	"dialroom/auth"
	"dialroom/dialplan"
)

// TestLocalUserLogins: local accounts from the database sign in through the
// same login as directory users; only the admin role gets the console.
func TestLocalUserLogins(t *testing.T) {
	e := newTestEnv(t, func(c *Config, store *dialplan.Store) {
		c.Directory = auth.Chain{auth.LocalUsers{Users: store}}
	})
	ctx := t.Context()
	const pw = "a long enough password"
	for name, role := range map[string]string{"ada": dialplan.UserRoleAdmin, "mo": dialplan.UserRoleModerator} {
		if err := e.store.AddUser(ctx, dialplan.User{Name: name, Role: role}, pw); err != nil {
			t.Fatal(err)
		}
	}
	jsonH := map[string]string{"Content-Type": "application/json"}
	for _, c := range []struct {
		user, password string
		want           int
	}{
		{"ada", pw, 200},
		{"ada", "not the password", 401},
		{"mo", pw, 401}, // a moderator has no console
		{"nobody", pw, 401},
	} {
		resp, body := do(t, e.srv.Client(), "POST", e.srv.URL+"/admin/login", fmt.Sprintf(`{"user":%q,"password":%q}`, c.user, c.password), jsonH)
		if resp.StatusCode != c.want {
			t.Errorf("console login as %s: %d %s, want %d", c.user, resp.StatusCode, body, c.want)
		}
	}
}
