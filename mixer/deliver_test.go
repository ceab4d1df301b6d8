package mixer

import (
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

func TestShare(t *testing.T) {
	for _, tc := range []struct{ n, parts int }{{10, 1}, {10, 3}, {128, 2}, {1001, 8}, {3, 8}} {
		next := 0
		for p := 0; p < tc.parts; p++ {
			lo, hi := share(tc.n, p, tc.parts)
			if lo != next || hi < lo {
				t.Fatalf("share(%d, %d, %d) = %d..%d, want to start at %d", tc.n, p, tc.parts, lo, hi, next)
			}
			next = hi
		}
		if next != tc.n {
			t.Errorf("shares of %d in %d parts end at %d, want %d", tc.n, tc.parts, next, tc.n)
		}
	}
}

// TestParallelDeliveryReachesEveryLeg runs the real loop with more legs than
// parallelMin: every leg gets frames, and the talker gets its own mix (the
// race detector checks the helpers share nothing unsafely).
func TestParallelDeliveryReachesEveryLeg(t *testing.T) {
	m := New(newFakeSFU(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer m.Close()
	const n = parallelMin + 72
	var mu sync.Mutex
	got := map[int]int16{} // leg -> first sample of its first non-silent frame
	all := make(chan struct{})
	var talker *Member
	for i := 0; i < n; i++ {
		leg := legFunc(func(pcm []int16) {
			mu.Lock()
			defer mu.Unlock()
			if _, ok := got[i]; ok || pcm[0] == 0 {
				return
			}
			got[i] = pcm[0]
			if len(got) == n-1 { // everyone but the talker hears it
				close(all)
			}
		})
		mem, err := m.Join("r", PhoneInfo{ID: strconv.Itoa(i)}, leg)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			talker = mem
		}
	}
	for range 60 { // 1.2 s of speech, buffered ahead of the loop
		talker.Push(constFrame(5000))
	}
	<-all
	mu.Lock()
	defer mu.Unlock()
	if _, ok := got[0]; ok {
		t.Error("the talker heard itself")
	}
	for i := 1; i < n; i++ {
		if got[i] != 5000 {
			t.Fatalf("leg %d: got %d, want 5000", i, got[i])
		}
	}
}

// TestCloseStopsEveryGoroutine: the room loops and their send helpers are
// gone once Close returns (Close waits for them; nothing is left to poll).
func TestCloseStopsEveryGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	m := New(newFakeSFU(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i := 0; i < parallelMin+1; i++ {
		if _, err := m.Join("r"+strconv.Itoa(i%2), PhoneInfo{ID: strconv.Itoa(i)}, legFunc(func([]int16) {})); err != nil {
			t.Fatal(err)
		}
	}
	if got := runtime.NumGoroutine(); got <= before {
		t.Fatalf("goroutines while mixing: got %d, want more than %d", got, before)
	}
	m.Close()
	// At most as many as before: goroutines of earlier tests (timers, the
	// runtime's) may end meanwhile, but none of the mixer's may remain.
	if got := runtime.NumGoroutine(); got > before {
		t.Errorf("goroutines after Close: got %d, want at most %d", got, before)
	}
}
