package dialplan

import (
	"testing"
	"time"
)

func TestThrottleSchedule(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	th := NewThrottle(CallerPolicy(), func() time.Time { return now })
	const key = "carrier|+4930123456"
	tests := []struct {
		fails      int // total failures so far
		wantDelay  time.Duration
		wantLocked bool
	}{
		{0, 0, false}, {2, 0, false}, {3, time.Second, false}, {4, 2 * time.Second, false},
		{5, 4 * time.Second, false}, {8, 30 * time.Second, false}, {9, 30 * time.Second, false}, {10, 0, true},
	}
	done := 0
	for _, tt := range tests {
		for ; done < tt.fails; done++ {
			th.Fail(key)
		}
		d, locked := th.Check(key)
		if d != tt.wantDelay || locked != tt.wantLocked {
			t.Errorf("after %d failures: delay %v locked %v, want %v %v", tt.fails, d, locked, tt.wantDelay, tt.wantLocked)
		}
	}
	if _, locked := th.Check("carrier|+4989000000"); locked {
		t.Errorf("another caller is locked out, want not")
	}
	// Lockouts double: 1 h, then 2 h after the next failure.
	now = now.Add(time.Hour + time.Second)
	if _, locked := th.Check(key); locked {
		t.Fatalf("still locked after 1 h, want free")
	}
	th.Fail(key)
	now = now.Add(time.Hour + time.Second)
	if _, locked := th.Check(key); !locked {
		t.Errorf("second lockout shorter than 2 h, want locked")
	}
	now = now.Add(time.Hour)
	if _, locked := th.Check(key); locked {
		t.Errorf("second lockout longer than 2 h, want free")
	}
	th.Success(key)
	if d, locked := th.Check(key); d != 0 || locked {
		t.Errorf("after success: delay %v locked %v, want 0 false", d, locked)
	}
}

// Brute force against a 6-digit PIN from one caller ID: count the tries
// the policy allows in 90 days (one try whenever not locked out).
func TestThrottleBruteForceTakesMonths(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	th := NewThrottle(CallerPolicy(), func() time.Time { return now })
	end := now.Add(90 * 24 * time.Hour)
	tries := 0
	for now.Before(end) {
		d, locked := th.Check("k")
		if locked {
			now = now.Add(time.Minute)
			continue
		}
		now = now.Add(d + 10*time.Second) // prompt, typing
		th.Fail("k")
		tries++
	}
	t.Logf("tries in 90 days: %d (of 10^6 PINs, %.4f%%)", tries, float64(tries)/1e4)
	if tries > 1000 {
		t.Errorf("%d tries in 90 days, want at most 1000 (a 6-digit PIN must take far longer)", tries)
	}
}

func TestThrottleForgets(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	th := NewThrottle(CallerPolicy(), func() time.Time { return now })
	for range 5 {
		th.Fail("k")
	}
	now = now.Add(CallerPolicy().Forget + time.Second)
	if d, locked := th.Check("k"); d != 0 || locked {
		t.Errorf("after Forget: delay %v locked %v, want 0 false", d, locked)
	}
}
