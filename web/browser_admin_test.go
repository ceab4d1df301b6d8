package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"dialroom/sfu"
)

// TestBrowserAdminConsole logs in with the admin token, creates a room,
// assigns a number and hangs up a phone caller from the live view.
func TestBrowserAdminConsole(t *testing.T) {
	tab := startChromium(t)
	srv, mgr, token := newAdminServer(t)
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()

	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/admin"),
		chromedp.SendKeys(`#token`, "dra_wrong"),
		chromedp.Click(`#login button[type=submit]`),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `!!document.querySelector('#login .error') && document.querySelector('#login .error').textContent.includes('not accepted')`); err != nil {
		t.Fatalf("wrong token: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`#token`, token),
		chromedp.Click(`#login button[type=submit]`),
		chromedp.WaitVisible(`#room-form`),
		chromedp.SendKeys(`#room-slug`, "board"),
		chromedp.SendKeys(`#room-name`, "Board meeting"),
		chromedp.SendKeys(`#room-pin`, "2468"),
		chromedp.Click(`#room-create`),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `!!document.querySelector('tr[data-room="board"]')`); err != nil {
		t.Fatalf("new room not listed: %v", err)
	}
	st, body := call(t, srv, token, "GET", "/api/v1/rooms", "")
	if st != 200 || !strings.Contains(body, `"slug":"board"`) || !strings.Contains(body, `"hasPin":true`) {
		t.Errorf("rooms after the console created one: %d %s", st, body)
	}
	modLink, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('tr[data-room="board"] input[aria-label="Moderator link"]').value`))
	if err != nil || !strings.HasSuffix(modLink, "/r/board?mod="+ModeratorToken(testSecret, "board")) {
		t.Errorf("moderator link: got %q (%v)", modLink, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`#number-e164`, "+49 30 555 0100"),
		chromedp.Click(`#number-form button[type=submit]`),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `!!document.querySelector('[data-number="+49305550100"]')`); err != nil {
		t.Fatalf("number not listed: %v", err)
	}
	owner := &fakePhoneOwner{removed: make(chan struct{}, 1)}
	phone, err := mgr.Room("board").AddPhone(sfu.PhoneInfo{ID: "phone-9", Label: "+49 *** 00", Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	owner.phone = phone
	if err := waitJS(ctx, `!!document.querySelector('[data-live="board"] [data-person="phone-9"]')`); err != nil {
		t.Fatalf("phone caller not in the live view: %v", err)
	}
	screenshot(t, ctx, "admin-console")
	if err := chromedp.Do(ctx, chromedp.Click(`[data-person="phone-9"] [data-action="remove"]`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-owner.removed:
	case <-ctx.Done():
		t.Fatal("the console's hang-up never reached the phone's owner")
	}
	if err := waitJS(ctx, `!document.querySelector('[data-live="board"]')`); err != nil {
		t.Errorf("live view still shows the meeting: %v", err)
	}
}
