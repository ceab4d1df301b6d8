package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dialroom/sfu"
)

func TestAdminTokenAndModlink(t *testing.T) {
	data := t.TempDir()
	code, out, errOut := call("admin", "token", "-data", data)
	token := strings.TrimSpace(strings.TrimPrefix(out, "admin token (shown only now): "))
	if code != 0 || !strings.HasPrefix(token, "dra_") || errOut != "" {
		t.Fatalf("admin token: got %d %q %q, want 0 and a dra_ token", code, out, errOut)
	}
	stored, err := os.ReadFile(filepath.Join(data, adminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), token) || len(strings.TrimSpace(string(stored))) != 64 {
		t.Errorf("token file: got %q, want only a hex SHA-256", stored)
	}
	if fi, err := os.Stat(filepath.Join(data, adminTokenFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode: got %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if code, _, errOut := call("room", "add", "team", "-data", data); code != 0 {
		t.Fatalf("room add: %s", errOut)
	}
	code, out, _ = call("admin", "modlink", "team", "-data", data)
	if role := checkLink(t, data, "team", out); code != 0 || role != sfu.RoleModerator {
		t.Errorf("admin modlink: got %d %q (role %q), want 0 and a moderator link", code, out, role)
	}
	if code, _, _ := call("admin", "modlink", "-data", data); code == 0 {
		t.Error("admin modlink without SLUG: got exit 0, want a usage error")
	}
}
