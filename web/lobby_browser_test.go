package web

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"dialroom/dialplan"
)

// TestBrowserLobby: in a lobby room a guest's page shows the waiting
// screen; the moderator's page shows the guest with Admit; after the click
// the guest's page shows the room with the moderator's tile, without a
// reload.
func TestBrowserLobby(t *testing.T) {
	tab := startChromium(t)
	srv, store, _ := newScopeServer(t)
	if err := store.SetRoomAccess(context.Background(), "demo", dialplan.AccessLobby); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	defer cancel()
	guest, cancelGuest := chromedp.NewContext(tab)
	defer cancelGuest()
	guestCtx, stop := context.WithCancel(guest)
	defer context.AfterFunc(ctx, stop)()
	defer stop()

	modURL := srv.URL + "/r/demo?" + url.Values{"mod": {ModeratorToken(testSecret, "demo")}, "name": {"Mia"}}.Encode()
	for _, tt := range []struct {
		tab context.Context
		url string
	}{{ctx, modURL}, {guestCtx, srv.URL + "/r/demo?name=Ann"}} {
		if err := chromedp.Do(tt.tab, chromedp.Navigate(tt.url)); err != nil {
			t.Fatal(err)
		}
		if err := waitJS(tt.tab, `document.readyState === 'complete' && !!window.dialroom`); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(tt.tab, chromedp.Click(`[data-testid=join]`)); err != nil {
			t.Fatal(err)
		}
		if tt.tab == ctx {
			if err := waitJS(ctx, `window.dialroom.session()?.role === 'moderator'`); err != nil {
				t.Fatalf("moderator: %v", err)
			}
		}
	}

	if err := waitJS(guestCtx, `!document.getElementById('lobby-screen').hidden && document.getElementById('join-screen').hidden &&
		document.getElementById('room-screen').hidden && document.getElementById('lobby-text').textContent.length > 0 &&
		!window.dialroom.session()?.id`); err != nil {
		t.Fatalf("guest: no waiting screen: %v", err)
	}
	screenshot(t, guestCtx, "lobby-waiting")
	if err := waitJS(ctx, `!document.getElementById('lobby-panel').hidden &&
		document.querySelector('#lobby-list [data-guest]')?.textContent.includes('Ann')`); err != nil {
		t.Fatalf("moderator: no lobby panel with Ann: %v", err)
	}
	screenshot(t, ctx, "lobby-moderator")
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll('[data-kind="web"]')].length === 1`)); err != nil || !ok {
		t.Errorf("moderator sees a tile for the waiting guest (%v)", err)
	}

	if err := chromedp.Do(ctx, chromedp.Click(`#lobby-list [data-action=admit]`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(guestCtx, `document.getElementById('lobby-screen').hidden && !document.getElementById('room-screen').hidden &&
		window.dialroom.session()?.role === 'participant' &&
		[...document.querySelectorAll('.tile:not([data-self])')].some((t) => t.textContent.includes('Mia'))`); err != nil {
		t.Fatalf("admitted guest: no room with the moderator's tile: %v", err)
	}
	if err := waitJS(ctx, `document.getElementById('lobby-panel').hidden && document.querySelectorAll('[data-kind="web"]').length === 2`); err != nil {
		t.Errorf("moderator after admitting: %v", err)
	}
}
