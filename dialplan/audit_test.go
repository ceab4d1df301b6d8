package dialplan

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAuditLog(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, t.TempDir())
	t0 := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	entries := []AuditEntry{
		{At: t0, Actor: "cli", Action: "room.add", Target: "standup"},
		{At: t0.Add(time.Hour), Actor: "admin:alice", Action: "number.add", Target: MaskNumber("+4930123456"), Detail: "room standup"},
		{At: t0.Add(2 * time.Hour), Actor: "moderator:Bob", Action: "participant.mute", Target: "standup/Carol"},
		// A careless caller: the full number must not be stored.
		{At: t0.Add(3 * time.Hour), Actor: "cli", Action: "number.remove", Target: "+49 30 1234567"},
	}
	for _, e := range entries {
		if err := st.AddAudit(ctx, e); err != nil {
			t.Fatalf("AddAudit(%+v): %v", e, err)
		}
	}
	if err := st.AddAudit(ctx, AuditEntry{Action: "x"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("AddAudit without actor: got %v, want ErrInvalid", err)
	}

	got, err := st.AuditLog(ctx, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("got %d entries, want 4", len(got))
	}
	if got[0].Action != "room.add" || !got[0].At.Equal(t0) || got[1].Target != "+49 30 ••• 456" {
		t.Errorf("got %+v, want the entries in order with the masked number kept", got)
	}
	for _, e := range got {
		if strings.Contains(e.Target+e.Detail, "1234567") || strings.Contains(e.Target+e.Detail, "30123456") {
			t.Errorf("entry %+v holds a full number", e)
		}
	}
	if got[3].Target != "•••67" {
		t.Errorf("unmasked number stored as %q, want •••67", got[3].Target)
	}

	since, err := st.AuditLog(ctx, t0.Add(90*time.Minute), 0)
	if err != nil || len(since) != 2 || since[0].Action != "participant.mute" {
		t.Errorf("since 13:30: got %+v, %v; want the last two", since, err)
	}
	newest, err := st.AuditLog(ctx, time.Time{}, 1)
	if err != nil || len(newest) != 1 || newest[0].Action != "number.remove" {
		t.Errorf("limit 1: got %+v, %v; want the newest", newest, err)
	}

	n, err := st.PruneAudit(ctx, t0.Add(90*time.Minute))
	if err != nil || n != 2 {
		t.Errorf("PruneAudit: %d, %v; want 2, nil", n, err)
	}
	if rest, _ := st.AuditLog(ctx, time.Time{}, 0); len(rest) != 2 {
		t.Errorf("%d entries after pruning, want 2", len(rest))
	}
}

func TestScrubAudit(t *testing.T) {
	tests := []struct{ in, want string }{
		{"standup", "standup"},
		{"+49 30 ••• 456", "+49 30 ••• 456"},
		{"+4930123456", "•••56"},
		{"call 030-1234567 now", "call •••67 now"},
		{"room-2026", "room-2026"},
		{"code 4711", "code 4711"},
		{strings.Repeat("x", 300), strings.Repeat("x", maxAuditField)},
	}
	for _, tt := range tests {
		if got := scrubAudit(tt.in); got != tt.want {
			t.Errorf("scrubAudit(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
