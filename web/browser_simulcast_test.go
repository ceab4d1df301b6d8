package web

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"dialroom/internal/browsertest"
	"dialroom/sfu"
)

// inboundVideo evaluates to the first inbound video stream's statistics of a
// page's PeerConnection: {w, frames} (0 before any frame).
const inboundVideo = `(async () => {
  let w = 0, frames = 0;
  (await window.dialroom.session().pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') { w = r.frameWidth || 0; frames = r.framesReceived || 0; }
  });
  return {w, frames};
})()`

// activeLayers evaluates to the RIDs of the camera encodings a page sends, joined.
const activeLayers = `window.dialroom.session().videoTx.sender.getParameters().encodings.filter((e) => e.active).map((e) => e.rid).join()`

type videoStats struct {
	W      int `json:"w"`
	Frames int `json:"frames"`
}

// readVideo reads inboundVideo in tab.
func readVideo(tab context.Context) (videoStats, error) {
	return chromedp.Run(tab, chromedp.Evaluate[videoStats](inboundVideo, chromedp.EvalAwaitPromise))
}

// waitVideo polls tab's inbound video until ok accepts it.
func waitVideo(ctx, tab context.Context, what string, ok func(videoStats) bool) (videoStats, error) {
	var last videoStats
	var err error
	for {
		last, err = readVideo(tab)
		if err == nil && ok(last) {
			return last, nil
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("%s: last %+v (err %v): %w", what, last, err, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitAsync polls tab until the promise js resolves to true.
func waitAsync(ctx, tab context.Context, js string) error {
	for {
		ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise))
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last error %v)", js, ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// mediaState describes what a page knows about layers, for failure messages.
func mediaState(tab context.Context) string {
	s, err := chromedp.Run(tab, chromedp.Evaluate[string](`JSON.stringify({layers: [...window.dialroom.session().layers.values()], view: window.dialroom.session().lastView})`))
	if err != nil {
		return err.Error()
	}
	return s
}

// senderState describes a page's simulcast sending, for failure messages.
func senderState(tab context.Context) string {
	s, err := chromedp.Run(tab, chromedp.Evaluate[string](`(async () => {
	  const out = [];
	  (await window.dialroom.session().pc.getStats()).forEach((r) => {
	    if (r.type === 'outbound-rtp' && r.kind === 'video') out.push({rid: r.rid, frames: r.framesSent, w: r.frameWidth, limit: r.qualityLimitationReason, active: r.active});
	  });
	  return JSON.stringify({wanted: window.dialroom.session().wanted, out});
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		return err.Error()
	}
	return s
}

// TestBrowserSimulcast: Ann publishes her camera in three layers; Bob
// receives the small layer while her tile is small, the full one when it is
// large, and no frames at all while it is off screen.
func TestBrowserSimulcast(t *testing.T) {
	tab := startChromium(t)
	// Layers by tile size only: on a loaded test machine Chromium's delays
	// look like congestion (the allocator's budget has unit tests).
	mgr, err := sfu.NewManager(sfu.Config{ICEIPs: []string{"127.0.0.1"}, IgnoreBandwidth: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{}, testRooms, mgr, slog.New(slog.DiscardHandler)))
	defer func() {
		srv.Close()
		_ = mgr.Close()
	}()
	ctx, cancel := context.WithTimeout(tab, 120*time.Second)
	defer cancel()
	bob, ids := joinTabs(t, ctx, tab, srv.URL, [2]string{"name=Ann", "name=Bob"})
	ann := fmt.Sprintf(`document.querySelector('.tile[data-participant="%s"]')`, ids[0])

	// Ann's browser really sends simulcast.
	if err := waitAsync(ctx, tab, `(async () => {
	  const rids = new Set();
	  (await window.dialroom.session().pc.getStats()).forEach((r) => { if (r.type === 'outbound-rtp' && r.kind === 'video' && r.rid) rids.add(r.rid); });
	  return rids.size === 3;
	})()`); err != nil {
		t.Errorf("Ann's outbound video has no three RIDs: %v", err)
	}
	if _, err := waitVideo(ctx, bob, "first frames", func(v videoStats) bool { return v.Frames > 0 }); err != nil {
		t.Fatal(err)
	}

	setTile := func(css string) {
		t.Helper()
		if _, err := chromedp.Run(bob, chromedp.Evaluate[bool](fmt.Sprintf(`(%s.style.cssText = %q, true)`, ann, css))); err != nil {
			t.Fatal(err)
		}
	}
	layerIs := func(l string) string { return fmt.Sprintf(`%s.dataset.layer === %q`, ann, l) }

	setTile("width: 160px; height: 90px; flex: none")
	if err := waitIn(ctx, bob, layerIs("q")); err != nil {
		t.Fatalf("small tile: %v; %s", err, mediaState(bob))
	}
	small, err := waitVideo(ctx, bob, "small tile frames", func(v videoStats) bool { return v.W > 0 && v.W <= 400 })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("small tile: layer q, frame width %d", small.W)
	// Nobody watches Ann's h and f layers now: her browser stops encoding them.
	if err := waitIn(ctx, tab, activeLayers+` === "q"`); err != nil {
		got, _ := chromedp.Run(tab, chromedp.Evaluate[string](activeLayers))
		t.Errorf("Ann's active layers while Bob's tile is small: got %q: %v; %s", got, err, senderState(tab))
	}

	setTile("width: 1200px; height: 675px; flex: none")
	if err := waitIn(ctx, bob, layerIs("f")); err != nil {
		t.Fatalf("large tile: %v; %s; Ann: %s", err, mediaState(bob), senderState(tab))
	}
	large, err := waitVideo(ctx, bob, "large tile frames", func(v videoStats) bool { return v.W > small.W })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("large tile: layer f, frame width %d; Bob's downlink estimate %d bit/s",
		large.W, mgr.Room("demo").BandwidthEstimate(ids[1]))

	setTile("display: none")
	if err := waitIn(ctx, bob, layerIs("")); err != nil {
		t.Fatalf("tile off screen: %v; %s", err, mediaState(bob))
	}
	// Frames in flight may still arrive: wait until the count holds for
	// half a second, then it must not move for two more seconds.
	prev, _ := readVideo(bob)
	held := time.Now()
	for time.Since(held) < 500*time.Millisecond {
		if ctx.Err() != nil {
			t.Fatalf("frames kept arriving off screen: %d", prev.Frames)
		}
		time.Sleep(100 * time.Millisecond)
		cur, err := readVideo(bob)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Frames != prev.Frames {
			prev, held = cur, time.Now()
		}
	}
	end := time.Now().Add(2 * time.Second)
	for time.Now().Before(end) {
		time.Sleep(200 * time.Millisecond)
		cur, err := readVideo(bob)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Frames != prev.Frames {
			t.Fatalf("off screen: frames received went from %d to %d", prev.Frames, cur.Frames)
		}
	}
	t.Logf("off screen: frames received stay at %d", prev.Frames)
	if err := waitIn(ctx, tab, activeLayers+` === ""`); err != nil {
		t.Errorf("Ann's active layers while nobody watches: %v", err)
	}

	setTile("")
	if _, err := waitVideo(ctx, bob, "frames after coming back on screen", func(v videoStats) bool { return v.Frames > prev.Frames }); err != nil {
		t.Error(err)
	}
}

// writeToneWAV writes seconds of a 440 Hz tone at half scale as a 48 kHz
// mono 16-bit WAV file, for Chromium's fake microphone.
func writeToneWAV(t *testing.T, seconds int) string {
	t.Helper()
	return writeWAV(t, seconds, 440, 16000)
}

// writeWAV writes seconds of a freq Hz tone of amplitude amp (0: silence) as
// a 48 kHz mono 16-bit WAV file, for Chromium's fake microphone.
func writeWAV(t *testing.T, seconds int, freq, amp float64) string {
	t.Helper()
	const rate = 48000
	n := rate * seconds
	b := make([]byte, 44+2*n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], rate)
	binary.LittleEndian.PutUint32(b[28:], rate*2)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	for i := range n {
		v := int16(amp * math.Sin(2*math.Pi*freq*float64(i)/rate))
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	path := filepath.Join(t.TempDir(), "tone.wav")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBrowserActiveSpeaker: both pages play a tone into their microphone;
// Bob mutes his, so the server, from the audio level header alone, marks Ann
// speaking and makes her the dominant speaker, which Bob's page shows as the
// active tile.
func TestBrowserActiveSpeaker(t *testing.T) {
	tab, _ := browsertest.Start(t, writeToneWAV(t, 10))
	srv, mgr := newTestServer(t)
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	defer cancel()
	bob, ids := joinTabs(t, ctx, tab, srv.URL, [2]string{"name=Ann", "name=Bob"})
	click(t, bob, `#mic`)
	ann := fmt.Sprintf(`document.querySelector('.tile[data-participant="%s"]')`, ids[0])
	if err := waitIn(ctx, bob, fmt.Sprintf(`window.dialroom.session().speaker === %q && %s.dataset.speaking === 'true' && %s.dataset.active === 'true'`,
		ids[0], ann, ann)); err != nil {
		s, _ := chromedp.Run(bob, chromedp.Evaluate[string](`JSON.stringify({speaker: window.dialroom.session().speaker, tiles: [...document.querySelectorAll('.tile')].map((t) => ({...t.dataset}))})`))
		a, _ := chromedp.Run(tab, chromedp.Evaluate[string](`(async () => {
		  const out = [];
		  (await window.dialroom.session().pc.getStats()).forEach((r) => {
		    if ((r.type === 'outbound-rtp' && r.kind === 'audio') || (r.type === 'media-source' && r.kind === 'audio')) out.push({type: r.type, sent: r.packetsSent, level: r.audioLevel});
		  });
		  return JSON.stringify(out);
		})()`, chromedp.EvalAwaitPromise))
		t.Fatalf("Ann as the speaker in Bob's page: %v; %s; Ann's audio %s; roster %+v", err, s, a, mgr.Room("demo").Roster())
	}
}
