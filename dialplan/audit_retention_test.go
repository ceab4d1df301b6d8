package dialplan

import (
	"context"
	"sync"
	"testing"
	"time"
)

// The retention job deletes audit entries and PIN failure records older
// than the retention period at start and at every tick, keeps newer ones
// and running lockouts, and stops when its context ends.
func TestRunRetention(t *testing.T) {
	st := openTest(t, t.TempDir())
	bg := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	keep := 30 * 24 * time.Hour

	for _, d := range []int{40, 31, 29, 1} { // days ago
		if err := st.AddAudit(bg, AuditEntry{At: now.Add(-time.Duration(d) * 24 * time.Hour), Actor: "cli", Action: "room.add", Target: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	old := failureRecord{keyHash: "old", entry: throttleEntry{fails: 2, lastFail: now.Add(-40 * 24 * time.Hour)}}
	locked := failureRecord{keyHash: "locked", entry: throttleEntry{fails: 20, lastFail: now.Add(-40 * 24 * time.Hour), until: now.Add(time.Hour)}}
	recent := failureRecord{keyHash: "recent", entry: throttleEntry{fails: 1, lastFail: now.Add(-time.Hour)}}
	for _, r := range []failureRecord{old, locked, recent} {
		if err := st.saveFailure(bg, "caller", r); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithCancel(bg)
	ticks := make(chan time.Time)
	done := make(chan struct{})
	go func() { defer close(done); st.RunRetention(ctx, keep, ticks, clock, nil) }()

	// The first run at start: two audit entries and the old record go.
	waitFor(t, func() bool {
		l, _ := st.AuditLog(bg, time.Time{}, 0)
		n, _ := st.failureCount(bg)
		return len(l) == 2 && n == 2
	}, "the first retention run")

	// Ten days later the 29-day-old entry is due, and the lockout is over.
	mu.Lock()
	now = now.Add(10 * 24 * time.Hour)
	mu.Unlock()
	ticks <- now
	waitFor(t, func() bool {
		l, _ := st.AuditLog(bg, time.Time{}, 0)
		n, _ := st.failureCount(bg)
		return len(l) == 1 && n == 1
	}, "the second retention run")

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("RunRetention did not return after cancel")
	}
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
