package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAdminEditRoom: in the console an admin edits a room's title,
// language, PIN, moderator PIN and dial-in code, adds a shared number (the room's dial-in
// text then names its code) and sees the trunks with their state.
func TestBrowserAdminEditRoom(t *testing.T) {
	tab := startChromium(t)
	srv, token := newTrunkServer(t, fakeTrunks{list: []TrunkInfo{
		{Name: "pbx", Sources: []string{"192.0.2.9"}, State: "ready"},
		{Name: "carrier", Register: "192.0.2.1:5060", Auth: true, State: "failed", LastError: "403 Forbidden"},
	}})
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	if st, body := call(t, srv, token, "POST", "/api/v1/rooms", `{"slug":"team","name":"Team"}`); st != 201 {
		t.Fatalf("add room: %d %s", st, body)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/admin"),
		chromedp.SendKeys(`#token`, token),
		chromedp.Click(`#login button[type=submit]`),
		chromedp.WaitVisible(`tr[data-room="team"] [data-action="edit"]`),
		chromedp.Click(`tr[data-room="team"] [data-action="edit"]`),
		chromedp.WaitVisible(`#edit-team-name`),
		chromedp.SetValue(`#edit-team-name`, "Team weekly"),
		chromedp.SetValue(`#edit-team-lang`, "en"),
		chromedp.SendKeys(`#edit-team-pin`, "5791"),
		chromedp.SendKeys(`#edit-team-modpin`, "8642"),
		chromedp.SetValue(`#edit-team-code`, "24680"),
		chromedp.Click(`tr[data-edit="team"] [data-action="save"]`),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `(document.querySelector('tr[data-room="team"]')?.textContent || '').includes('Team weekly') && !document.querySelector('tr[data-edit="team"]')`); err != nil {
		t.Fatalf("edited room not shown: %v", err)
	}
	_, body := call(t, srv, token, "GET", "/api/v1/rooms", "")
	for _, want := range []string{`"name":"Team weekly"`, `"lang":"en"`, `"hasPin":true`, `"hasModeratorPin":true`, `"dialCode":"24680"`} {
		if !strings.Contains(body, want) {
			t.Errorf("room after the edit: got %s, want %s", body, want)
		}
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`#number-e164`, "+49 30 777"),
		chromedp.SetValue(`#number-room`, ""),
		chromedp.Click(`#number-form button[type=submit]`),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `(document.querySelector('[data-number="+4930777"]')?.textContent || '').includes('shared')`); err != nil {
		t.Fatalf("shared number not listed: %v", err)
	}
	code, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('tr[data-room="team"] td.code').textContent`))
	if err != nil || code != "24680" {
		t.Fatalf("dial-in code cell: got %q (%v), want 24680", code, err)
	}
	js := `document.querySelector('tr[data-room="team"] input[aria-label="Dial-in text"]')?.value || ''`
	if err := waitJS(ctx, `(`+js+`).includes('+4930777, code `+code+`')`); err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		t.Errorf("dial-in text: got %q, want the shared number with code %s: %v", got, code, err)
	}
	if err := waitJS(ctx, `document.querySelector('tr[data-trunk="carrier"][data-state="failed"]')?.textContent.includes('403 Forbidden') && !!document.querySelector('tr[data-trunk="pbx"][data-state="ready"]')`); err != nil {
		t.Errorf("trunks section: %v", err)
	}
	screenshot(t, ctx, "admin-console-edit")
}
