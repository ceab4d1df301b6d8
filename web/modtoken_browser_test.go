package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"dialroom/dialplan"
)

// TestBrowserSignedInRoom: in a room for signed-in users an anonymous
// browser is refused with a message that says why; the console makes an
// invitation link, and the same browser joins with it. The console's access
// field changes the room back to open.
func TestBrowserSignedInRoom(t *testing.T) {
	tab := startChromium(t)
	srv, store, admin := newScopeServer(t)
	if err := store.SetRoomAccess(context.Background(), "demo", dialplan.AccessSignedIn); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/r/demo?name=Ann"),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.readyState === 'complete' && !!window.dialroom`); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=join]`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `!document.getElementById('join-error').hidden && document.getElementById('join-error').textContent.includes('signed-in users')`); err != nil {
		msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('join-error').textContent`))
		t.Fatalf("anonymous browser in a signed-in room: message %q: %v", msg, err)
	}
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.dialroom.session()?.id`)); err != nil || !ok {
		t.Errorf("anonymous browser joined a signed-in room (%v)", err)
	}
	screenshot(t, ctx, "signed-in-room-refused")

	// The console: log in with the token, make an invitation link.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/admin"),
		chromedp.SendKeys(`#token`, admin),
		chromedp.Click(`#login button[type=submit]`),
		chromedp.WaitVisible(`[data-links="demo"] [data-action="participant-link"]`),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.querySelector('[data-links="demo"] select[data-action="access"]').value === 'signed-in'`); err != nil {
		t.Fatalf("console access field: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`[data-links="demo"] [data-action="participant-link"]`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `!!document.querySelector('[data-links="demo"] input[aria-label="Invitation link"]')`); err != nil {
		t.Fatalf("no invitation link in the console: %v", err)
	}
	link, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-links="demo"] input[aria-label="Invitation link"]').value`))
	if err != nil || !strings.HasPrefix(link, srv.URL+"/r/demo?mod=") {
		t.Fatalf("invitation link: got %q (%v)", link, err)
	}
	if err := waitJS(ctx, `!!document.querySelector('#tokens tr[data-token="default"]')`); err != nil {
		t.Errorf("token list does not show the token file's token: %v", err)
	}
	screenshotAt(t, ctx, "admin-join-links", 1280, 1400)

	if err := chromedp.Do(ctx, chromedp.Navigate(link+"&name=Ann")); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.readyState === 'complete' && !!window.dialroom`); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=join]`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `window.dialroom.session()?.role === 'participant' && !!window.dialroom.session()?.id`); err != nil {
		t.Fatalf("browser with an invitation link: %v", err)
	}

	// Back in the console, the access field opens the room again.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/admin"),
		chromedp.WaitVisible(`[data-links="demo"] select[data-action="access"]`),
		chromedp.SetValue(`[data-links="demo"] select[data-action="access"]`, dialplan.AccessOpen),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-links="demo"] select[data-action="access"]').dispatchEvent(new Event('change'))`)); err != nil {
		t.Fatal(err)
	}
	open := func() bool {
		p, err := store.RoomLinkPolicy(context.Background(), "demo")
		return err == nil && p.Access == dialplan.AccessOpen
	}
	if err := waitCond(ctx, open); err != nil {
		t.Fatalf("console access field: the room is not open: %v", err)
	}
}
