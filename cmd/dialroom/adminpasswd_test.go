package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminPasswd: the password comes from stdin and only its hash lands in
// the data directory; a short one is refused and leaves no file.
func TestAdminPasswd(t *testing.T) {
	data := t.TempDir()
	var out, errOut bytes.Buffer
	if err := runAdminPasswd([]string{"-data", data}, strings.NewReader("short\n"), &out, &errOut); err == nil {
		t.Errorf("short password: got no error, want one")
	}
	if _, err := os.Stat(filepath.Join(data, adminPasswordFile)); !os.IsNotExist(err) {
		t.Errorf("password file after a refused password: got %v, want none", err)
	}
	pw := "a long enough secret"
	if err := runAdminPasswd([]string{"-user", "alice", "-data", data}, strings.NewReader(pw+"\r\n"), &out, &errOut); err != nil {
		t.Fatalf("admin passwd: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(data, adminPasswordFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "alice\n$argon2id$") || strings.Contains(string(b), pw) {
		t.Errorf("password file: got %q, want alice and an argon2id hash", b)
	}
	if strings.Contains(out.String()+errOut.String(), pw) {
		t.Errorf("output shows the password: %q %q", out.String(), errOut.String())
	}
}
