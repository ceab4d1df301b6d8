package web

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"dialroom/sfu"
)

// visibleTiles counts the tiles the page shows (not on another page).
const visibleTiles = `[...document.querySelectorAll('.tile')].filter((t) => !t.hidden).length`

// TestBrowserLayout: 13 phone callers and oneself make two pages of the
// grid; the speaker view shows the active speaker large unless a tile is
// pinned; the German switch translates the page.
func TestBrowserLayout(t *testing.T) {
	tab := startChromium(t)
	srv, mgr := newTestServer(t)
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/r/demo?name=Ann"), chromedp.WaitVisible(`[data-testid=join]`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.getElementById('mic-select').options.length > 0`); err != nil {
		t.Errorf("no microphone listed in the device selection: %v", err)
	}
	screenshot(t, ctx, "join-screen")
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=join]`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.querySelectorAll('[data-kind="web"]').length === 1`); err != nil {
		t.Fatal(err)
	}
	room := mgr.Room("demo")
	var phones []*sfu.Phone
	for i := range 13 {
		p, err := room.AddPhone(sfu.PhoneInfo{ID: fmt.Sprintf("phone-%02d", i), Label: fmt.Sprintf("+49 *** %02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		phones = append(phones, p)
	}
	if err := waitJS(ctx, `document.querySelectorAll('.tile').length === 14 && !document.getElementById('pager').hidden && `+visibleTiles+` === 12`); err != nil {
		t.Fatalf("first page: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`#people-toggle`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.getElementById('people-count').textContent === '1 in the browser, 13 by phone'`); err != nil {
		t.Errorf("participant counts: %v", err)
	}
	screenshot(t, ctx, "grid-with-phones")
	if err := chromedp.Do(ctx, chromedp.Click(`#next-page`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, visibleTiles+` === 2`); err != nil {
		t.Fatalf("second page: %v", err)
	}
	// Speaker view: the one who speaks is the main tile.
	if err := chromedp.Do(ctx, chromedp.Click(`#view`)); err != nil {
		t.Fatal(err)
	}
	phones[7].SetSpeaking(true)
	if err := waitJS(ctx, `document.querySelectorAll('.tile.main').length === 1 && !!document.querySelector('.tile.main[data-participant="phone-07"][data-active="true"]')`); err != nil {
		t.Fatalf("active speaker not the main tile: %v", err)
	}
	if err := waitJS(ctx, visibleTiles+` === 7`); err != nil {
		t.Fatalf("speaker view: main tile and a strip of 6: %v", err)
	}
	// Pinning beats speaking.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector('[data-participant="phone-03"] .pin').click(), true)`)); err != nil {
		t.Fatal(err)
	}
	phones[9].SetSpeaking(true)
	if err := waitJS(ctx, `!!document.querySelector('.tile.main[data-participant="phone-03"]') && document.querySelector('[data-participant="phone-09"]').dataset.active === "true"`); err != nil {
		t.Fatalf("pinned tile not the main tile: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`#people-toggle`)); err != nil {
		t.Fatal(err)
	}
	screenshotAt(t, ctx, "speaker-view-phone-screen", 390, 844)
	if err := chromedp.Do(ctx, chromedp.SetValue(`#lang-room`, "de")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('lang-room').dispatchEvent(new Event('change'))`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.documentElement.lang === 'de' && document.getElementById('people-title').textContent === 'Teilnehmende' && document.querySelector('[data-participant="phone-03"] .pin').textContent === 'Lösen'`); err != nil {
		t.Errorf("German: %v", err)
	}
}

// TestBrowserReconnect: when the signalling connection drops, the page shows
// a banner and joins again by itself.
func TestBrowserReconnect(t *testing.T) {
	tab := startChromium(t)
	srv, mgr := newTestServer(t)
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/r/demo?name=Ann"), chromedp.Click(`[data-testid=join]`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `!!window.dialroom.session() && !!window.dialroom.session().id`); err != nil {
		t.Fatal(err)
	}
	first, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.dialroom.session().id`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(window.dialroom.session().ws.close(), true)`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `!document.getElementById('banner').hidden`); err != nil {
		t.Fatalf("no reconnecting banner: %v", err)
	}
	js := fmt.Sprintf(`(() => { const s = window.dialroom.session(); return !!s.id && s.id !== %q && document.getElementById('banner').hidden && document.querySelectorAll('[data-kind="web"]').length === 1; })()`, first)
	if err := waitJS(ctx, js); err != nil {
		t.Fatalf("did not rejoin: %v", err)
	}
	if err := waitCond(ctx, func() bool {
		ps := mgr.Room("demo").Roster().Participants
		return len(ps) == 1 && ps[0].ID != first
	}); err != nil {
		t.Errorf("room after reconnect: got %+v, want only the new participant", mgr.Room("demo").Roster().Participants)
	}
}
