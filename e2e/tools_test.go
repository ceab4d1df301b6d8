package e2e

// Self-tests of the harness: each checks one tool the scenario tests rely on,
// without a dialroom server, so a broken tool is told apart from a broken server.

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestToolAnalyserOnSoxFiles checks the analyser on the tones sox makes for sipp.
func TestToolAnalyserOnSoxFiles(t *testing.T) {
	needTools(t, "sox")
	dir := t.TempDir()
	for _, freq := range []int{440, 660, 880} {
		path := filepath.Join(dir, itoa(freq)+".ul")
		makeTone(t, path, freq, 2, "ul")
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, share := DominantFrequency(DecodeULaw(nil, raw), 8000)
		if math.Abs(got-float64(freq)) > 5 || share < 0.9 {
			t.Errorf("sox %d Hz: got %.0f Hz (share %.2f), want %d Hz (share >= 0.9)", freq, got, share, freq)
		}
	}
}

// TestToolSippCallsSippWithEcho runs the caller scenario (DTMF included) against
// sipp's built-in UAS with RTP echo and checks, with the tshark capture, that the
// caller gets its own 440 Hz back: sipp's SIP and audio, tshark and the analyser
// work together.
func TestToolSippCallsSippWithEcho(t *testing.T) {
	needTools(t, "sipp", "sox", "tshark")
	dir := t.TempDir()
	makeTone(t, filepath.Join(dir, "caller.ul"), 440, 10, "ul")
	uasPort := freeUDPPort(t)
	uas := startSipp(t, sippCall{builtin: "uas", echo: true, dir: dir, sipPort: uasPort})
	mp := freeUDPPort(t)
	capt := startCapture(t, mp)
	start := time.Now()
	call := startSipp(t, sippCall{scenario: "caller.xml", dir: dir, target: "127.0.0.1:" + itoa(uasPort),
		service: "+4930123456", holdMs: 2000, keys: map[string]string{"pin": "123#"}, mediaPort: mp})
	ctx := deadlineCtx(t, 30*time.Second)
	if err := call.wait(ctx); err != nil {
		if !uas.running() {
			t.Logf("the sipp UAS had exited: %v\n%s", uas.waitErr, tail(uas.out.String(), 30))
		}
		t.Fatal(err)
	}
	if err := uas.wait(ctx); err != nil {
		t.Fatal(err)
	}
	audio, n, err := capt.audioSince(start)
	if err != nil {
		t.Fatal(err)
	}
	freq, share := DominantFrequency(audio, 8000)
	if n < 50 || math.Abs(freq-440) > 30 {
		t.Errorf("echo: got %d packets at %.0f Hz (share %.2f), want >= 50 at 440 Hz", n, freq, share)
	}
}

// TestToolWrongPinScenario runs the wrong-PIN scenario against a sipp UAS that
// answers and hangs up after 13 s, as dialroom should after three wrong PINs.
func TestToolWrongPinScenario(t *testing.T) {
	needTools(t, "sipp", "sox")
	dir := t.TempDir()
	makeTone(t, filepath.Join(dir, "caller.ul"), 0, 20, "ul")
	uasPort := freeUDPPort(t)
	uas := startSipp(t, sippCall{scenario: "uas_hangup.xml", dir: dir, sipPort: uasPort, holdMs: 13000})
	call := startSipp(t, sippCall{scenario: "wrong_pin.xml", dir: dir, target: "127.0.0.1:" + itoa(uasPort),
		service: "+4930123456", keys: map[string]string{"pin": "000000#"}})
	ctx := deadlineCtx(t, 40*time.Second)
	if err := call.wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := uas.wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestToolChromiumFakeMic loads a stand-in page in headless Chromium with the
// flags of the e2e tests and checks that the page hears the fake 660 Hz mic.
func TestToolChromiumFakeMic(t *testing.T) {
	needTools(t, "sox")
	dir := t.TempDir()
	wav := filepath.Join(dir, "tone660.wav")
	makeTone(t, wav, 660, 10, "wav")
	srv := httptest.NewServer(http.FileServer(http.Dir("testdata")))
	defer srv.Close()
	b := startBrowser(t, wav)
	ctx := deadlineCtx(t, 30*time.Second)
	if err := b.join(ctx, srv.URL+"/fakeroom.html"); err != nil {
		t.Fatal(err)
	}
	ids, err := b.waitTiles(ctx, "web", 1)
	if err != nil {
		t.Fatal(err)
	}
	var last peak
	err = poll(ctx, 100*time.Millisecond, func() error {
		var err error
		if last, err = b.audioPeak(ctx, ids[0]); err != nil {
			return err
		}
		if math.Abs(last.Freq-660) > 30 || last.Level < 0.01 {
			return fmt.Errorf("got %+v, want freq 660±30 Hz, level >= 0.01", last)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ua, err := eval[string](ctx, b, "navigator.userAgent"); err != nil || ua == "" {
		t.Errorf("userAgent: got %q, %v", ua, err)
	}
}
