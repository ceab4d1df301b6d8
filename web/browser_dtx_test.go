package web

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/rtp"

	"dialroom/internal/browsertest"
)

// rtpCoverage records the browser audio packets a room receives and tells
// which share of the media time they cover (1.0: a packet every 20 ms).
type rtpCoverage struct {
	mu    sync.Mutex
	first uint32
	last  uint32
	n     int
	bytes int
}

func (c *rtpCoverage) OnAudio(_ string, p *rtp.Packet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		c.first = p.Timestamp
	}
	c.last = p.Timestamp
	c.n++
	c.bytes += len(p.Payload)
}

// reset starts counting afresh from the next packet.
func (c *rtpCoverage) reset() {
	c.mu.Lock()
	c.n, c.bytes = 0, 0
	c.mu.Unlock()
}

// span is the media time covered since the first packet (48 kHz clock).
func (c *rtpCoverage) span() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(c.last-c.first) * time.Second / 48000
}

// share is how many 20 ms packets arrived per 20 ms of media time.
func (c *rtpCoverage) share() (float64, int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	frames := float64(c.last-c.first)/960 + 1
	return float64(c.n) / frames, c.n, c.bytes
}

// TestBrowserOpusDTX: the server's SDP asks for Opus DTX, so a browser whose
// microphone is silent sends only the occasional comfort-noise packet, while
// one that hears a tone sends every 20 ms as before. Judged by the packets
// that reach the room, over their own RTP time.
func TestBrowserOpusDTX(t *testing.T) {
	for _, tc := range []struct {
		name     string
		amp      float64
		min, max float64 // share of 20 ms frames that carry a packet
	}{
		{"silence", 0, 0, 0.3},
		{"tone", 12000, 0.95, 1.05},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab, _ := browsertest.Start(t, writeWAV(t, 5, 440, tc.amp))
			srv, mgr := newTestServer(t)
			ctx, cancel := context.WithTimeout(tab, 60*time.Second)
			defer cancel()
			room := mgr.Room("demo")
			cov := &rtpCoverage{}
			defer room.AddAudioSink(cov)()
			if err := chromedp.Do(ctx,
				chromedp.Navigate(srv.URL+"/r/demo?name=Ann"),
				chromedp.WaitVisible(`[data-testid=join]`),
				chromedp.Click(`[data-testid=join]`),
			); err != nil {
				t.Fatal(err)
			}
			if err := waitPeerConnected(ctx, room); err != nil {
				t.Fatal(err)
			}
			// Skip the first second of media (the encoder's DTX hangover),
			// then judge three seconds of it.
			if err := waitFor(ctx, func() bool { return cov.span() >= time.Second }); err != nil {
				t.Fatalf("no second of audio arrived: %v", err)
			}
			cov.reset()
			if err := waitFor(ctx, func() bool { return cov.span() >= 3*time.Second }); err != nil {
				t.Fatalf("three seconds of audio did not arrive: %v", err)
			}
			share, n, bytes := cov.share()
			t.Logf("%s: %d packets, %d payload bytes over %v of media: %.2f of the 20 ms frames", tc.name, n, bytes, cov.span(), share)
			if share < tc.min || share > tc.max {
				t.Errorf("%s: packets cover %.2f of the frames, want %.2f-%.2f", tc.name, share, tc.min, tc.max)
			}
		})
	}
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}
