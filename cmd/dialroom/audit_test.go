package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"dialroom/dialplan"
	"dialroom/sfu"
)

// CLI changes land in the audit log with the flags given but never their
// values; list commands leave nothing; dialroom audit shows the entries.
func TestAuditCLI(t *testing.T) {
	data := t.TempDir()
	for _, args := range [][]string{
		{"room", "add", "team", "-pin", "4711", "-data", data},
		{"room", "list", "-data", data},
		{"number", "add", "+49 30 1234567", "-room", "team", "-data", data},
		{"room", "set", "team", "-pin", "8642", "-data", data},
		{"number", "rm", "+49301234567", "-data", data},
	} {
		if code, _, errOut := call(args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
	}
	code, out, errOut := call("audit", "-since", "1h", "-data", data)
	if code != 0 {
		t.Fatalf("audit: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("audit printed %d lines, want header and 4 entries:\n%s", len(lines), out)
	}
	for i, want := range []string{"room.add team -pin", "number.add +49 30 ••• 567 -room", "room.set team -pin", "number.rm +49 30 ••• 567 -"} {
		if line := strings.Join(strings.Fields(lines[i+1]), " "); !strings.Contains(line, want) || !strings.Contains(line, " cli") {
			t.Errorf("line %d: %q, want it to contain %q", i+1, lines[i+1], want)
		}
	}
	for _, secret := range []string{"4711", "8642", "1234567"} {
		if strings.Contains(out, secret) {
			t.Errorf("audit output holds %q:\n%s", secret, out)
		}
	}
	if code, _, _ := call("audit", "-since", "tomorrow", "-data", data); code != exitUsage {
		t.Errorf("audit -since tomorrow: exit %d, want %d", code, exitUsage)
	}
}

// Moderator actions reach the audit log through the SFU's hook.
func TestModerationAudit(t *testing.T) {
	store, err := dialplan.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	hook := moderationAudit(store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	hook(sfu.ModerationEvent{Room: "team", By: "Mia", Action: "mute", Target: "+49 30 ••• 456"})
	hook(sfu.ModerationEvent{Room: "team", By: "Mia", Action: "lock"})
	got, err := store.AuditLog(context.Background(), time.Now().Add(-time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Actor != "moderator:Mia" || got[0].Action != "meeting.mute" ||
		got[0].Target != "team/+49 30 ••• 456" || got[1].Target != "team" || got[1].Action != "meeting.lock" {
		t.Errorf("got %+v, want the mute and the lock", got)
	}
}
