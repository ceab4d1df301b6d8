// Package browsertest starts headless Chromium for dialroom's browser tests,
// with the flags these machines need (see TESTING.md in the project's shared
// notes): fake camera and microphone, loopback ICE candidates without mDNS, and
// no background traffic to hosts that cannot be reached. Only tests import it.
package browsertest

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package installs the browser.
const ChromiumPath = "/usr/bin/chromium"

// Start launches Chromium and returns its first tab and a function that gives
// the browser's output so far (for failure messages). fakeAudio, if not "", is
// a WAV file the fake microphone plays in a loop. The browser is closed when
// the test ends; its output is logged if the test failed.
func Start(t testing.TB, fakeAudio string) (tab context.Context, output func() string) {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Skipf("chromium not installed (make test installs it): %v", err)
	}
	out := &lockedBuffer{}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(out),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("headless", "new"),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	}
	if fakeAudio != "" {
		opts = append(opts, chromedp.Flag("use-file-for-fake-audio-capture", fakeAudio))
	}
	for _, f := range []string{"no-sandbox", "disable-gpu", "use-fake-ui-for-media-stream",
		"use-fake-device-for-media-stream", "allow-loopback-in-peer-connection",
		"disable-background-networking", "disable-component-update", "disable-sync",
		"disable-quic", "disable-dev-shm-usage", "disable-background-timer-throttling",
		"disable-renderer-backgrounding", "disable-backgrounding-occluded-windows"} {
		opts = append(opts, chromedp.Flag(f, true))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if t.Failed() {
			t.Logf("chromium output:\n%s", tail(out.String(), 40))
		}
	})
	// The first action starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v\n%s", err, tail(out.String(), 40))
	}
	return ctx, out.String
}

// lockedBuffer collects Chromium's output from its reader goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
