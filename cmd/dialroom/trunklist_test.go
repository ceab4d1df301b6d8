package main

import (
	"log/slog"
	"testing"
	"time"

	"dialroom/config"
	"dialroom/sip"
)

// TestTrunkListerStates: the console's trunk list joins the configuration
// with the state file the SIP side writes.
func TestTrunkListerStates(t *testing.T) {
	data := t.TempDir()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	w := newTrunkStateWriter(data, slog.New(slog.DiscardHandler))
	w.update(sip.TrunkState{Name: "live", Registered: true, Until: now.Add(time.Hour), Updated: now})
	w.update(sip.TrunkState{Name: "old", Registered: true, Until: now.Add(-time.Minute), Updated: now})
	w.update(sip.TrunkState{Name: "bad", LastError: "403 Forbidden", Updated: now})
	reg := &config.Registration{Registrar: "192.0.2.1:5060"}
	l := trunkLister{dataDir: data, now: func() time.Time { return now }, trunks: []config.Trunk{
		{Name: "pbx", Sources: []string{"192.0.2.9"}},
		{Name: "live", Register: reg, Username: "u"},
		{Name: "old", Register: reg},
		{Name: "bad", Register: reg},
		{Name: "new", Register: reg},
	}}
	got, err := l.Trunks(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, state, lastError string }{
		{"pbx", "ready", ""}, {"live", "registered", ""}, {"old", "expired", ""},
		{"bad", "failed", "403 Forbidden"}, {"new", "unknown", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d trunks, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || g.State != w.state || g.LastError != w.lastError {
			t.Errorf("trunk %d: got %s %s %q, want %s %s %q", i, g.Name, g.State, g.LastError, w.name, w.state, w.lastError)
		}
	}
	if !got[1].Auth || got[0].Auth || got[1].Register != "192.0.2.1:5060" || got[0].Sources[0] != "192.0.2.9" {
		t.Errorf("trunk details: got %+v", got[:2])
	}
}
