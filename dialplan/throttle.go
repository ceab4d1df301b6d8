package dialplan

import (
	"log/slog"
	"sync"
	"time"
)

// ThrottlePolicy says how failed PIN entries from one source slow it down.
type ThrottlePolicy struct {
	FreeFails int           // failures without any delay
	MaxDelay  time.Duration // cap of the delay before the PIN prompt; it doubles per failure from 1 s
	LockAfter int           // failures after which every further one locks the source out
	LockFor   time.Duration // first lockout; each further one doubles, up to MaxLock
	MaxLock   time.Duration
	Forget    time.Duration // a source is forgotten this long after its last failure
}

// CallerPolicy is the limit for one caller ID on one trunk. With it a
// 6-digit PIN (10⁶ values, 5·10⁵ tries on average) takes far longer than months: ten
// tries, then lockouts of 1 h, 2 h … 24 h with one try each, about one try
// a day, and the count is kept for a week after the last failure.
func CallerPolicy() ThrottlePolicy {
	return ThrottlePolicy{FreeFails: 3, MaxDelay: 30 * time.Second, LockAfter: 10,
		LockFor: time.Hour, MaxLock: 24 * time.Hour, Forget: 7 * 24 * time.Hour}
}

// TrunkPolicy is the limit for a whole trunk, so that a caller who forges
// a new caller ID for every call is still slowed down. It is generous: one
// trunk carries many honest callers.
func TrunkPolicy() ThrottlePolicy {
	return ThrottlePolicy{FreeFails: 100, MaxDelay: 10 * time.Second, LockAfter: 1000,
		LockFor: time.Hour, MaxLock: 24 * time.Hour, Forget: 7 * 24 * time.Hour}
}

// maxThrottleKeys bounds the memory a flood of forged caller IDs can use;
// beyond it the stalest entries are dropped.
const maxThrottleKeys = 100_000

// Throttle counts failed PIN entries per source (a caller ID, a trunk)
// across calls and says how long to delay the next PIN prompt and whether
// the source is locked out. It stores counts and times, never digits.
// Safe for concurrent use; the clock is injected. Persist keeps the counts
// in the database across restarts (throttle_store.go).
type Throttle struct {
	policy ThrottlePolicy
	now    func() time.Time

	// Set once by Persist before use; nil store: memory only.
	store *Store
	kind  string
	salt  []byte
	log   *slog.Logger

	mu      sync.Mutex
	entries map[string]*throttleEntry // by hashKey(key)
}

type throttleEntry struct {
	fails    int
	lastFail time.Time
	locks    int
	until    time.Time // locked out until then
}

// NewThrottle returns an empty Throttle using policy and clock now.
func NewThrottle(policy ThrottlePolicy, now func() time.Time) *Throttle {
	return &Throttle{policy: policy, now: now, entries: make(map[string]*throttleEntry)}
}

// Check returns the delay before key's next PIN prompt, and whether key is
// locked out (then the call should be refused).
func (t *Throttle) Check(key string) (delay time.Duration, locked bool) {
	key = t.hashKey(key)
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entry(key, false)
	if e == nil {
		return 0, false
	}
	if t.now().Before(e.until) {
		return 0, true
	}
	if n := e.fails - t.policy.FreeFails; n >= 0 {
		delay = time.Second << min(n, 16)
		delay = min(delay, t.policy.MaxDelay)
	}
	return delay, false
}

// Fail records one failed PIN entry from key.
func (t *Throttle) Fail(key string) {
	key = t.hashKey(key)
	t.mu.Lock()
	e := t.entry(key, true)
	now := t.now()
	e.fails++
	e.lastFail = now
	if e.fails >= t.policy.LockAfter {
		lock := t.policy.LockFor << min(e.locks, 16)
		e.until = now.Add(min(lock, t.policy.MaxLock))
		e.locks++
	}
	saved := *e
	t.mu.Unlock()
	t.save(key, saved)
}

// Success forgets key's failures: the caller knew the PIN.
func (t *Throttle) Success(key string) {
	key = t.hashKey(key)
	t.mu.Lock()
	delete(t.entries, key)
	t.mu.Unlock()
	t.forget(key) // also when pruned from memory: the row may still exist
}

// entry returns key's entry, forgetting it when stale; create adds one.
func (t *Throttle) entry(key string, create bool) *throttleEntry {
	now := t.now()
	e := t.entries[key]
	if e != nil && now.Sub(e.lastFail) > t.policy.Forget && !now.Before(e.until) {
		delete(t.entries, key)
		e = nil
	}
	if e == nil && create {
		if len(t.entries) >= maxThrottleKeys {
			t.prune(now)
		}
		e = &throttleEntry{}
		t.entries[key] = e
	}
	return e
}

// prune drops stale entries, and if that is not enough, every entry that
// is not locked out.
func (t *Throttle) prune(now time.Time) {
	for k, e := range t.entries {
		if now.Sub(e.lastFail) > t.policy.Forget && !now.Before(e.until) {
			delete(t.entries, k)
		}
	}
	if len(t.entries) < maxThrottleKeys {
		return
	}
	for k, e := range t.entries {
		if !now.Before(e.until) {
			delete(t.entries, k)
		}
	}
}
