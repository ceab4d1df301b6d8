package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"dialroom/dialplan"
)

// TestBrowserAdminTrunks: in the console an admin adds a trunk, edits its
// sources and removes it; a trunk of the configuration file shows no
// buttons. Passwords never come back to the page.
func TestBrowserAdminTrunks(t *testing.T) {
	tab := startChromium(t)
	store, err := dialplan.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	trunks := &storeTrunks{s: store}
	srv, token := newTrunkServer(t, trunks)
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/admin"),
		chromedp.SendKeys(`#token`, token),
		chromedp.Click(`#login button[type=submit]`),
		chromedp.WaitVisible(`#trunk-form`),
		chromedp.SendKeys(`#trunk-name`, "pbx"),
		chromedp.SendKeys(`#trunk-sources`, "198.51.100.7"),
		chromedp.SendKeys(`#trunk-user`, "pbxuser"),
		chromedp.SendKeys(`#trunk-password`, "console-secret"),
		chromedp.SetValue(`#trunk-srtp`, "required"),
		chromedp.Click(`#trunk-create`),
		chromedp.WaitVisible(`tr[data-trunk="pbx"] [data-action="edit-trunk"]`),
	); err != nil {
		t.Fatal(err)
	}
	got, err := store.Trunk(ctx, "pbx")
	if err != nil || got.Username != "pbxuser" || got.Password != "console-secret" || got.SRTP != "required" {
		t.Fatalf("stored trunk: got %+v, %v", got, err)
	}
	for _, c := range []struct{ trunk, col, want string }{
		{"pbx", "srtp", "required"}, {"pbx", "transport", "udp,tcp"}, {"carrier", "srtp", "optional"}} {
		q := `document.querySelector('tr[data-trunk="` + c.trunk + `"] td[data-col="` + c.col + `"]')?.textContent || ''`
		if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](q)); err != nil || got != c.want {
			t.Errorf("%s column of %s: got %q (%v), want %q", c.col, c.trunk, got, err, c.want)
		}
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('tr[data-trunk="carrier"] button').length`)); err != nil || n != 0 {
		t.Errorf("buttons on the configuration's trunk: got %d (%v), want 0", n, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(`tr[data-trunk="pbx"] [data-action="edit-trunk"]`),
		chromedp.WaitVisible(`#trunk-edit-pbx-sources`),
		chromedp.SetValue(`#trunk-edit-pbx-sources`, "198.51.100.0/24, 203.0.113.9"),
		chromedp.ScrollIntoView(`#trunks-section`),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "admin-console-trunks")
	if err := chromedp.Do(ctx,
		chromedp.Click(`form[data-trunk-form="pbx"] button[type=submit]`),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `(document.querySelector('tr[data-trunk="pbx"]')?.textContent || '').includes('203.0.113.9')`); err != nil {
		t.Fatalf("edited sources not shown: %v", err)
	}
	got, err = store.Trunk(ctx, "pbx")
	if err != nil || strings.Join(got.Sources, ",") != "198.51.100.0/24,203.0.113.9" || got.Password != "console-secret" ||
		got.SRTP != "required" || got.Username != "pbxuser" {
		t.Errorf("after the edit: got %+v, %v (an empty password field keeps the password, the rest stays)", got, err)
	}
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil || strings.Contains(html, "console-secret") {
		t.Errorf("page shows the password (%v)", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(window.confirm = () => true, true)`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`tr[data-trunk="pbx"] [data-action="delete-trunk"]`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `!document.querySelector('tr[data-trunk="pbx"]') && !!document.querySelector('tr[data-trunk="carrier"]')`); err != nil {
		t.Fatalf("removed trunk still listed: %v", err)
	}
	if n := trunks.applied.Load(); n != 3 {
		t.Errorf("changes applied: got %d, want 3", n)
	}

	// A registration trunk over TLS: the transport is stored, shown, and
	// kept by an edit that does not touch it.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`#trunk-name`, "sbc"),
		chromedp.SendKeys(`#trunk-registrar`, "192.0.2.50:5061"),
		chromedp.SendKeys(`#trunk-reg-user`, "acct"),
		chromedp.SendKeys(`#trunk-reg-password`, "reg-secret"),
		chromedp.SetValue(`#trunk-reg-transport`, "tls"),
		chromedp.Click(`#trunk-create`),
		chromedp.WaitVisible(`tr[data-trunk="sbc"] [data-action="edit-trunk"]`),
		chromedp.Click(`tr[data-trunk="sbc"] [data-action="edit-trunk"]`),
		chromedp.WaitVisible(`#trunk-edit-sbc-reg-transport`),
		chromedp.SetValue(`#trunk-edit-sbc-reg-user`, "acct2"),
		chromedp.Click(`form[data-trunk-form="sbc"] button[type=submit]`),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `(document.querySelector('tr[data-trunk="sbc"] td[data-col="transport"]')?.textContent || '') === 'tls'`); err != nil {
		t.Errorf("transport column of sbc: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err = store.Trunk(ctx, "sbc")
		if err == nil && got.Register != nil && got.Register.Username == "acct2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("edited registration trunk: got %+v, %v", got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got.Register.Transport != "tls" || got.Register.Password != "reg-secret" {
		t.Errorf("after the edit: registration %+v, want transport tls and the password kept", *got.Register)
	}
}
