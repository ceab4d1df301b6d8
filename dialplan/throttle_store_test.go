package dialplan

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"
)

// Failed PINs before a restart (a new Store and Throttle on the same data
// directory) still lock the caller out; another caller can still join; the
// database holds no number.
func TestThrottleSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	const guesser, honest = "carrier|+4930123456", "carrier|+4989765432"

	st := openTest(t, dir)
	th := NewThrottle(CallerPolicy(), clock)
	if err := th.Persist(ctx, st, "caller", nil); err != nil {
		t.Fatal(err)
	}
	for range CallerPolicy().LockAfter {
		th.Fail(guesser)
	}
	th.Fail(honest)
	th.Success(honest)
	if _, locked := th.Check(guesser); !locked {
		t.Fatalf("guesser not locked out before the restart")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	now = now.Add(10 * time.Minute)
	st2 := openTest(t, dir)
	th2 := NewThrottle(CallerPolicy(), clock)
	if err := th2.Persist(ctx, st2, "caller", nil); err != nil {
		t.Fatal(err)
	}
	if _, locked := th2.Check(guesser); !locked {
		t.Errorf("guesser not locked out after the restart, want locked")
	}
	if d, locked := th2.Check(honest); locked || d != 0 {
		t.Errorf("another caller: delay %v locked %v, want 0 false", d, locked)
	}
	// A trunk-kind throttle on the same store sees nothing of the callers.
	tr := NewThrottle(TrunkPolicy(), clock)
	if err := tr.Persist(ctx, st2, "trunk", nil); err != nil {
		t.Fatal(err)
	}
	if _, locked := tr.Check(guesser); locked {
		t.Errorf("trunk throttle sees the caller's lockout")
	}

	// Nothing in the database gives the number away.
	var keys []string
	rows, err := st2.db.QueryContext(ctx, `SELECT key_hash FROM pin_failures`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if len(keys) != 1 {
		t.Fatalf("%d rows in pin_failures, want 1 (the honest caller's was deleted)", len(keys))
	}
	for _, k := range keys {
		if strings.Contains(k, "123456") || strings.Contains(k, "carrier") {
			t.Errorf("key %q holds the caller's number or trunk", k)
		}
	}

	// After the lockout and the forget time, the entry is gone on load.
	now = now.Add(CallerPolicy().Forget + 25*time.Hour)
	th3 := NewThrottle(CallerPolicy(), clock)
	if err := th3.Persist(ctx, st2, "caller", nil); err != nil {
		t.Fatal(err)
	}
	if n, err := st2.failureCount(ctx); err != nil || n != 0 {
		t.Errorf("after the forget time: %d rows (%v), want 0", n, err)
	}
}

// Different databases use different salts: the same caller gets a
// different key_hash, so hashes cannot be compared across installations.
func TestThrottleSaltPerDatabase(t *testing.T) {
	ctx := context.Background()
	hash := func(dir string) string {
		st := openTest(t, dir)
		th := NewThrottle(CallerPolicy(), time.Now)
		if err := th.Persist(ctx, st, "caller", nil); err != nil {
			t.Fatal(err)
		}
		th.Fail("carrier|+4930123456")
		var k string
		if err := st.db.QueryRowContext(ctx, `SELECT key_hash FROM pin_failures`).Scan(&k); err != nil && err != sql.ErrNoRows {
			t.Fatal(err)
		}
		return k
	}
	a, b := hash(t.TempDir()), hash(t.TempDir())
	if a == "" || a == b {
		t.Errorf("key hashes %q and %q, want two different non-empty ones", a, b)
	}
}

func TestPruneFailures(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, t.TempDir())
	now := time.Unix(1_800_000_000, 0)
	th := NewThrottle(CallerPolicy(), func() time.Time { return now })
	if err := th.Persist(ctx, st, "caller", nil); err != nil {
		t.Fatal(err)
	}
	th.Fail("a")
	now = now.Add(48 * time.Hour)
	th.Fail("b")
	n, err := st.PruneFailures(ctx, now.Add(-24*time.Hour), now)
	if err != nil || n != 1 {
		t.Fatalf("PruneFailures: %d, %v; want 1, nil", n, err)
	}
	if c, _ := st.failureCount(ctx); c != 1 {
		t.Errorf("%d rows left, want 1", c)
	}
}
