package loadtest

import (
	"context"
	"sync"
	"time"
)

// startPaced runs start(i) for i in 0..n-1, one every 1/rate seconds, each
// in its own goroutine, and hands every result to done (called one at a
// time). It returns when all started ones have finished; when ctx ends no
// more are started.
func startPaced[T any](ctx context.Context, n int, rate float64, start func(i int) (T, error), done func(v T, err error)) {
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	for i := 0; i < n; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				wg.Wait()
				return
			case <-t.C:
			}
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			v, err := start(i)
			mu.Lock()
			defer mu.Unlock()
			done(v, err)
		}(i)
	}
	wg.Wait()
}

// failed counts a failed call or join in a report's Failed/FirstError.
func failed(n *int, first *string, err error) {
	*n++
	if *first == "" {
		*first = err.Error()
	}
}
