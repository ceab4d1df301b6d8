package sip

import (
	"sync"
	"sync/atomic"
	"testing"
)

// At most cap(slots) PIN checks run at once, however many callers press '#'.
func TestBoundedCheckLimitsConcurrency(t *testing.T) {
	const limit, callers = 2, 16
	var running, peak atomic.Int32
	release := make(chan struct{})
	entered := make(chan struct{}, callers)
	check := boundedCheck(make(chan struct{}, limit), func(hash, pin string) bool {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		entered <- struct{}{}
		<-release
		running.Add(-1)
		return hash == pin
	})
	var wg sync.WaitGroup
	results := make(chan bool, callers)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); results <- check("1234", "1234") }()
	}
	for i := 0; i < callers; i++ {
		<-entered // a check is running; the others wait for a slot
		if got := running.Load(); got > limit {
			t.Fatalf("%d checks at once, want at most %d", got, limit)
		}
		release <- struct{}{}
	}
	wg.Wait()
	close(results)
	for ok := range results {
		if !ok {
			t.Error("a bounded check lost its result")
		}
	}
	if got := peak.Load(); got > limit {
		t.Errorf("peak concurrency %d, want at most %d", got, limit)
	}
}
