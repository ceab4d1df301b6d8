package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dialroom/dialplan"
	"dialroom/sfu"
	"dialroom/web"
)

// checkLink returns the role the join link path out grants in room slug of
// the data directory, or the reason it does not.
func checkLink(t *testing.T, data, slug, out string) string {
	t.Helper()
	u, err := url.Parse(strings.TrimSpace(out))
	if err != nil || u.Path != "/r/"+slug {
		return "bad path " + out
	}
	secret, err := os.ReadFile(filepath.Join(data, moderatorKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	s, err := dialplan.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.RoomLinkPolicy(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	role, err := web.CheckJoinLink(secret, p, u.Query().Get("mod"), time.Now())
	if err != nil {
		return err.Error()
	}
	return role
}

// TestAdminTokens: add prints a token once and checks its flags, list
// shows everything but the token, revoke removes named tokens and the
// token file's; each change is in the audit log.
func TestAdminTokens(t *testing.T) {
	data := t.TempDir()
	code, out, errOut := call("admin", "token", "add", "-name", "ci", "-scope", "rooms:read,live:write", "-expires", "90d", "-data", data)
	_, token, _ := strings.Cut(out, "shown only now: ")
	token = strings.TrimSpace(token)
	if code != 0 || !strings.HasPrefix(token, dialplan.TokenPrefix) || !strings.Contains(out, `"ci" (rooms:read,live:write, expires `) {
		t.Fatalf("token add: got %d %q %q, want 0 and a token", code, out, errOut)
	}
	if code, _, _ := call("admin", "token", "-data", data); code != 0 {
		t.Fatal("admin token (file) failed")
	}
	for _, bad := range [][]string{
		{"-scope", "read"},                                   // no name
		{"-name", "x", "-scope", "rooms"},                    // unknown scope
		{"-name", "x", "-expires", "soon"},                   // bad lifetime
		{"-name", "x", "-scope", "admin", "-expires", "-1d"}, // negative
	} {
		if code, _, errOut := call(append([]string{"admin", "token", "add", "-data", data}, bad...)...); code != 2 || errOut == "" {
			t.Errorf("token add %q: got exit %d %q, want 2 and a message", bad, code, errOut)
		}
	}
	if code, _, errOut := call("admin", "token", "add", "-name", "ci", "-data", data); code != 1 || !strings.Contains(errOut, "exists") {
		t.Errorf("token add twice: got exit %d %q, want 1 and exists", code, errOut)
	}
	if code, _, errOut := call("admin", "token", "add", "-name", "default", "-data", data); code != 1 || !strings.Contains(errOut, "reserved") {
		t.Errorf("token add default: got exit %d %q, want 1 and reserved", code, errOut)
	}

	code, out, _ = call("admin", "token", "list", "-data", data)
	if code != 0 || strings.Contains(out, token) || !strings.Contains(out, "ci ") || !strings.Contains(out, "rooms:read,live:write") ||
		!strings.Contains(out, "default") || !strings.Contains(out, "LAST USED") {
		t.Errorf("token list: got %d %q, want both tokens, no secret", code, out)
	}

	for _, name := range []string{"ci", "default"} {
		if code, out, errOut := call("admin", "token", "revoke", name, "-data", data); code != 0 || !strings.Contains(out, "revoked") {
			t.Errorf("revoke %s: got %d %q %q", name, code, out, errOut)
		}
		if code, _, errOut := call("admin", "token", "revoke", name, "-data", data); code != 1 || !strings.Contains(errOut, "no token named") {
			t.Errorf("revoke %s twice: got %d %q, want 1 and no token named", name, code, errOut)
		}
	}
	if _, out, _ := call("admin", "token", "list", "-data", data); strings.Contains(out, "ci ") || strings.Contains(out, "default") {
		t.Errorf("list after revoke: got %q, want no tokens", out)
	}
	_, out, _ = call("audit", "-data", data)
	for _, want := range []string{"admin.token.add", "admin.token.revoke"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit log: got %q, want %s", out, want)
		}
	}
	if strings.Contains(out, token) {
		t.Errorf("audit log shows the token: %q", out)
	}
}

// TestJoinLinksAndAccess: admin link and modlink print signed links with
// the role asked for; an expired one is refused; room relink revokes every
// earlier link, the older unversioned moderator link included; room set
// -access changes and checks the access setting.
func TestJoinLinksAndAccess(t *testing.T) {
	data := t.TempDir()
	if code, _, errOut := call("room", "add", "team", "-data", data); code != 0 {
		t.Fatalf("room add: %s", errOut)
	}
	_, part, errOut := call("admin", "link", "team", "-data", data)
	if role := checkLink(t, data, "team", part); role != sfu.RoleParticipant || !strings.Contains(errOut, "participant link, expires 20") {
		t.Errorf("admin link: got %q (%s), stderr %q, want a participant link expiring in 30 days", part, role, errOut)
	}
	_, mod, _ := call("admin", "link", "team", "-role", "moderator", "-expires", "never", "-data", data)
	if role := checkLink(t, data, "team", mod); role != sfu.RoleModerator {
		t.Errorf("admin link -role moderator: got %q (%s), want a moderator link", mod, role)
	}
	_, short, _ := call("admin", "modlink", "team", "-expires", "1ms", "-data", data)
	deadline := time.Now().Add(5 * time.Second)
	for checkLink(t, data, "team", short) != web.ErrLinkExpired.Error() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // poll the clock until the link's second has passed
	}
	if got := checkLink(t, data, "team", short); got != web.ErrLinkExpired.Error() {
		t.Errorf("modlink -expires 1ms: got %q, want expired", got)
	}
	secret, err := os.ReadFile(filepath.Join(data, moderatorKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	legacy := "/r/team?mod=" + web.ModeratorToken(secret, "team")
	if role := checkLink(t, data, "team", legacy); role != sfu.RoleModerator {
		t.Errorf("unversioned moderator link before relink: got %q, want moderator", role)
	}
	for _, bad := range [][]string{
		{"admin", "link", "team", "-role", "guest"},
		{"admin", "link", "team", "-expires", "soon"},
		{"admin", "link"},
	} {
		if code, _, errOut := call(append(bad, "-data", data)...); code != 2 {
			t.Errorf("%q: got exit %d %q, want 2", bad, code, errOut)
		}
	}
	if code, _, errOut := call("admin", "link", "nope", "-data", data); code != 1 || !strings.Contains(errOut, "not found") {
		t.Errorf("link to unknown room: got %d %q, want 1 and not found", code, errOut)
	}

	if code, out, _ := call("room", "relink", "team", "-data", data); code != 0 || !strings.Contains(out, "revoked every join link") {
		t.Fatalf("room relink: got %d %q", code, out)
	}
	for _, link := range []string{part, mod, legacy} {
		if got := checkLink(t, data, "team", link); got != web.ErrLinkInvalid.Error() {
			t.Errorf("link %q after relink: got %q, want not valid", link, got)
		}
	}
	_, fresh, _ := call("admin", "link", "team", "-data", data)
	if role := checkLink(t, data, "team", fresh); role != sfu.RoleParticipant {
		t.Errorf("link after relink: got %q, want participant", role)
	}

	if code, out, errOut := call("room", "set", "team", "-access", "signed-in", "-data", data); code != 0 || !strings.Contains(out, "access signed-in") {
		t.Errorf("room set -access: got %d %q %q", code, out, errOut)
	}
	if code, _, errOut := call("room", "set", "team", "-access", "everyone", "-data", data); code != 2 || !strings.Contains(errOut, "access") {
		t.Errorf("room set -access everyone: got %d %q, want 2", code, errOut)
	}
	if code, out, _ := call("room", "set", "team", "-name", "Team", "-access", "open", "-data", data); code != 0 ||
		!strings.Contains(out, `title "Team"`) || !strings.Contains(out, "access open") {
		t.Errorf("room set -name -access: got %d %q", code, out)
	}
	s, err := dialplan.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if p, err := s.RoomLinkPolicy(context.Background(), "team"); err != nil || p.Access != dialplan.AccessOpen {
		t.Errorf("stored access: got %+v %v, want open", p, err)
	}
}
