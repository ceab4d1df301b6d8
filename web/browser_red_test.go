package web

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/rtp"

	"dialroom/internal/browsertest"
)

// ptSink counts the browser audio packets a room's sinks receive by
// payload type.
type ptSink struct {
	mu    sync.Mutex
	byPT  map[uint8]int
	empty int
}

func (s *ptSink) OnAudio(_ string, p *rtp.Packet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byPT == nil {
		s.byPT = map[uint8]int{}
	}
	s.byPT[p.PayloadType]++
	if len(p.Payload) == 0 {
		s.empty++
	}
}

func (s *ptSink) counts() (map[uint8]int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(map[uint8]int, len(s.byPT))
	for k, v := range s.byPT {
		c[k] = v
	}
	return c, s.empty
}

// answerAudioPTs returns the preferred (first) payload type of each audio
// section of the page's current answer, once it has one.
func answerAudioPTs(ctx context.Context) ([]string, error) {
	var pts []string
	err := waitCond(ctx, func() bool {
		sdp, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.dialroom.session().pc.currentLocalDescription?.sdp ?? ''`))
		if err != nil {
			return false
		}
		pts = pts[:0]
		for _, line := range strings.Split(sdp, "\r\n") {
			if f := strings.Fields(line); len(f) > 3 && f[0] == "m=audio" {
				pts = append(pts, f[3])
			}
		}
		return len(pts) > 0
	})
	return pts, err
}

// TestBrowserRED: the server offers Opus in RED (RFC 2198) before plain
// Opus, so headless Chromium answers with red first on every audio section
// (its microphone and the audio slots) and sends its microphone as RED.
// The server receives RED packets (payload type red, counted by the
// manager, none malformed) while the room's audio sinks (the mixer) get
// plain Opus, and a second Chromium still hears the first one's tone.
// (Chromium's getStats names RED streams "opus", so what the second one
// receives is judged by its answer and its ears; TestRED in package sfu
// checks the RED a RED subscriber receives.)
func TestBrowserRED(t *testing.T) {
	srv, mgr := newTestServer(t)
	room := mgr.Room("demo")
	sink := &ptSink{}
	defer room.AddAudioSink(sink)()
	ann, _ := browsertest.Start(t, writeWAV(t, 5, 440, 12000))
	bob, _ := browsertest.Start(t, writeWAV(t, 5, 880, 12000))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tabs := map[string]context.Context{}
	for _, s := range []struct {
		tab  context.Context
		name string
	}{{ann, "Ann"}, {bob, "Bob"}} {
		if err := chromedp.Do(s.tab,
			chromedp.Navigate(srv.URL+"/r/demo?name="+s.name),
			chromedp.WaitVisible(`[data-testid=join]`),
			chromedp.Click(`[data-testid=join]`),
		); err != nil {
			t.Fatal(err)
		}
		tab, stop := context.WithCancel(s.tab)
		defer context.AfterFunc(ctx, stop)()
		tabs[s.name] = tab
	}
	// Bob hears Ann's 440 Hz.
	p, err := waitPeak(tabs["Bob"], tabs["Bob"], participantID("Ann"), 440)
	if err != nil {
		t.Fatalf("Bob hears %+v, want Ann's 440 Hz: %v", p, err)
	}
	t.Logf("Bob hears %.0f Hz at level %.3f", p.Freq, p.Level)
	// Both answers prefer red on every audio section.
	for name, tab := range tabs {
		pts, err := answerAudioPTs(tab)
		if err != nil {
			t.Fatalf("%s never answered: %v", name, err)
		}
		for i, pt := range pts {
			if pt != "63" {
				t.Errorf("%s's answer prefers payload type %s in audio section %d, want 63 (red); all: %v", name, pt, i, pts)
			}
		}
	}
	// The server receives RED from both and hands the sinks plain Opus.
	if err := waitCond(ctx, func() bool { return mgr.REDStats().Packets >= 100 }); err != nil {
		pts, _ := sink.counts()
		t.Fatalf("the server received %+v RED; the sinks got payload types %v", mgr.REDStats(), pts)
	}
	st := mgr.REDStats()
	pts, empty := sink.counts()
	t.Logf("server: %+v; sinks got payload types %v (%d empty)", st, pts, empty)
	if st.Malformed != 0 {
		t.Errorf("%d of Chromium's RED packets did not parse", st.Malformed)
	}
	for pt, n := range pts {
		if pt != 111 {
			t.Errorf("the sinks got %d packets of payload type %d, want Opus (111) only", n, pt)
		}
	}
	if len(pts) == 0 || empty != 0 {
		t.Errorf("the sinks got payload types %v, %d empty packets", pts, empty)
	}
	// Each RED packet counted reached the sinks as Opus, but for at most
	// one per reader (two browsers) between counting and handing on.
	if total := pts[111]; total < int(st.Packets)-2 {
		t.Errorf("the sinks got %d Opus packets from %d RED packets", total, st.Packets)
	}
}
