package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"dialroom/internal/browsertest"
)

// browser is one headless Chromium with a fake microphone, driving one tab.
type browser struct {
	ctx    context.Context // chromedp tab context; lives until Cleanup
	output func() string   // Chromium's stdout and stderr so far, for failures
}

// peak is what window.dialroom.audioPeak(id) resolves to.
type peak struct {
	Freq  float64 `json:"freq"`  // dominant frequency, Hz
	Level float64 `json:"level"` // level of the received audio; 0 is silence
}

// startBrowser starts headless Chromium whose microphone plays wav (48 kHz).
// Cleanup closes it.
func startBrowser(t *testing.T, wav string) *browser {
	t.Helper()
	b := &browser{}
	b.ctx, b.output = browsertest.Start(t, wav)
	return b
}

// join opens url and clicks the join button.
func (b *browser) join(ctx context.Context, url string) error {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	return chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.Click(chromedp.CSS(`[data-testid=join]`)),
	)
}

// bound derives a context for one action from the tab context that also ends
// with ctx (the test's deadline).
func (b *browser) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(b.ctx)
	stop := context.AfterFunc(ctx, cancel)
	return c, func() { stop(); cancel() }
}

// tiles returns the data-participant IDs of the tiles of kind ("phone", "web").
func (b *browser) tiles(ctx context.Context, kind string) ([]string, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	js := fmt.Sprintf(`Array.from(document.querySelectorAll('[data-kind=%q]'), e => e.dataset.participant || "")`, kind)
	return chromedp.Run(ctx, chromedp.Evaluate[[]string](js))
}

// waitTiles polls until exactly n tiles of kind show, and returns their IDs.
func (b *browser) waitTiles(ctx context.Context, kind string, n int) ([]string, error) {
	var ids []string
	err := poll(ctx, 200*time.Millisecond, func() error {
		var err error
		if ids, err = b.tiles(ctx, kind); err != nil {
			return err
		}
		if len(ids) != n {
			return fmt.Errorf("got %d %s tiles %v, want %d", len(ids), kind, ids, n)
		}
		return nil
	})
	return ids, err
}

// audioPeak asks the page for the dominant frequency and level of the audio it
// receives from participant id.
func (b *browser) audioPeak(ctx context.Context, id string) (peak, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	js := fmt.Sprintf(`window.dialroom.audioPeak(%q)`, id)
	return chromedp.Run(ctx, chromedp.Evaluate[peak](js, chromedp.EvalAwaitPromise))
}

// eval evaluates js in the page (awaiting a promise) and decodes the result.
func eval[T any](ctx context.Context, b *browser, js string) (T, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// poll calls check every interval until it returns nil or ctx ends; then it
// returns ctx's error with check's last complaint.
func poll(ctx context.Context, interval time.Duration, check func() error) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", ctx.Err(), strings.TrimSpace(err.Error()))
		case <-tick.C:
		}
	}
}
