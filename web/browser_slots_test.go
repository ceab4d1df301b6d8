package web

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"dialroom/internal/browsertest"
)

// TestBrowserHearEachOther: two Chromium instances whose microphones play
// different tones join a room; each hears the other's tone and not its
// own. With audio slots (last-N 3) the audio arrives on three slot tracks
// that are played without tiles; with last-N off, on a track per
// participant.
func TestBrowserHearEachOther(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lastN int
	}{{"slots", 3}, {"tracks", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := newTestServerLastN(t, tc.lastN)
			type side struct {
				name string
				freq float64
				tab  context.Context
			}
			sides := []*side{{name: "Ann", freq: 440}, {name: "Bob", freq: 880}}
			for _, s := range sides {
				s.tab, _ = browsertest.Start(t, writeWAV(t, 5, s.freq, 12000))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			for _, s := range sides {
				if err := chromedp.Do(s.tab,
					chromedp.Navigate(srv.URL+"/r/demo?name="+s.name),
					chromedp.WaitVisible(`[data-testid=join]`),
					chromedp.Click(`[data-testid=join]`),
				); err != nil {
					t.Fatal(err)
				}
			}
			for i, s := range sides {
				other := sides[1-i]
				tab, stop := context.WithCancel(s.tab)
				stopAfter := context.AfterFunc(ctx, stop)
				// Two tiles, whatever the slots: a slot never gets one.
				if err := waitJS(tab, `document.querySelectorAll('.tile[data-participant]').length === 2 &&
					document.querySelectorAll('[data-kind="web"]').length === 2`); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				slots := fmt.Sprintf(`window.dialroom.session().slots.size === %d && document.querySelectorAll('#slot-audio audio').length === %d`,
					tc.lastN, tc.lastN)
				if err := waitJS(tab, slots); err != nil {
					t.Fatalf("%s: %d slots not played: %v", s.name, tc.lastN, err)
				}
				p, err := waitPeak(tab, tab, participantID(other.name), other.freq)
				stopAfter()
				stop()
				if err != nil {
					t.Fatalf("%s hears %+v (%v), want %s's %.0f Hz", s.name, p, err, other.name, other.freq)
				}
				t.Logf("%s hears %.0f Hz at level %.3f", s.name, p.Freq, p.Level)
			}
		})
	}
}
