package web

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// screenshot saves a PNG of the tab's page as name.png in
// $TMPDIR/dialroom-screenshots, for a person to look at, and logs the path.
// It never fails the test: a screenshot is a by-product.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	screenshotAt(t, tab, name, 1280, 800)
}

// screenshotAt is screenshot with a viewport of w x h CSS pixels.
func screenshotAt(t *testing.T, tab context.Context, name string, w, h int64) {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "dialroom-screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	var opts []chromedp.EmulateViewportOption
	if w < 640 {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(w, h, opts...)); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", path)
}
