package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestUserCLI(t *testing.T) {
	dir := t.TempDir()
	const pw = "a long secret phrase"
	var out, errOut bytes.Buffer
	if err := runUserAdd([]string{"alice", "-role", "moderator", "-display", "Alice", "-data", dir}, strings.NewReader(pw+"\n"), &out, &errOut); err != nil {
		t.Fatalf("user add: %v %s", err, errOut.String())
	}
	if err := runUserAdd([]string{"bob", "-data", dir}, strings.NewReader(pw+"\n"), &out, &errOut); err == nil {
		t.Error("user add without -role succeeded")
	}
	if err := runUserAdd([]string{"carol", "-role", "user", "-data", dir}, strings.NewReader("short\n"), &out, &errOut); err == nil {
		t.Error("user add with a short password succeeded")
	}
	if err := runUserSet([]string{"alice", "-role", "admin", "-data", dir}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if err := runUserPasswd([]string{"alice", "-data", dir}, strings.NewReader("an even longer phrase\n"), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runUserList([]string{"-data", dir}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "alice") || !strings.Contains(out.String(), "admin") || strings.Contains(out.String(), "carol") {
		t.Errorf("user list:\n%s", out.String())
	}
	if err := runUserRemove([]string{"alice", "-data", dir}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if err := runUserRemove([]string{"alice", "-data", dir}, &out, &errOut); err == nil {
		t.Error("removing alice twice succeeded")
	}
	for _, s := range []string{out.String(), errOut.String()} {
		if strings.Contains(s, pw) || strings.Contains(s, "longer phrase") {
			t.Errorf("a password was printed: %s", s)
		}
	}
}
