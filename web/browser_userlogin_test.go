package web

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"
)

// TestBrowserUserLogin: a moderator signs in on the login page, lands in
// the room the link named, and joins it as a moderator without a
// moderator link; signing out makes the next join a participant's.
func TestBrowserUserLogin(t *testing.T) {
	tab := startChromium(t)
	srv := newDirectoryServer(t, nil)
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/login?next=%2Fr%2Fdemo%3Fname%3DMax"),
		chromedp.SendKeys(`#user`, "max"),
		chromedp.SendKeys(`#password`, "wrong"),
		chromedp.Click(`#login-form button[type=submit]`),
		chromedp.WaitVisible(`#login-error`),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.getElementById('login-error').textContent.includes('wrong user name or password')`); err != nil {
		t.Fatalf("wrong password: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`#user`, "max"),
		chromedp.SendKeys(`#password`, "max-password"),
		chromedp.Click(`#login-form button[type=submit]`),
	); err != nil {
		t.Fatal(err)
	}
	// The login redirects to the room; its module script must have run
	// before the join button does anything.
	if err := waitJS(ctx, `location.pathname === '/r/demo' && document.readyState === 'complete' && !!window.dialroom`); err != nil {
		t.Fatalf("after signing in: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=join]`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `window.dialroom.session()?.role === 'moderator' && !document.getElementById('mod-tools').hidden`); err != nil {
		t.Fatalf("signed-in moderator does not have the moderator tools: %v", err)
	}
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`)); err != nil || got != "" {
		t.Errorf("document.cookie: got %q (%v), want nothing (HttpOnly)", got, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/login?next=%2Fr%2Fdemo%3Fname%3DMax"),
		chromedp.Click(`#logout-form button[type=submit]`),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `!!document.getElementById('login-form')`); err != nil {
		t.Fatalf("after signing out: no login form: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/r/demo?name=Max"),
		chromedp.Click(`[data-testid=join]`),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `window.dialroom.session()?.role === 'participant' && document.querySelectorAll('[data-kind="web"][data-participant]').length >= 1 && document.getElementById('mod-tools').hidden`); err != nil {
		t.Fatalf("after signing out: %v", err)
	}
}

// TestBrowserOIDCConsole: the console's login shows the single sign-on
// button; the browser goes through the (mock) provider and back, and the
// admin gets the console.
func TestBrowserOIDCConsole(t *testing.T) {
	tab := startChromium(t)
	srv, m := newOIDCServer(t)
	m.QueueUser(&mockoidc.MockUser{Subject: "k-1", PreferredUsername: "kim", Groups: []string{"dialroom-admins"}})
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/admin"),
		chromedp.WaitVisible(`#oidc-login`),
	); err != nil {
		t.Fatalf("console login without a single sign-on button: %v", err)
	}
	if err := waitJS(ctx, `document.getElementById('oidc-login').textContent === 'Sign in with Keycloak'`); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`#oidc-login`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `location.pathname === '/admin' && !!document.getElementById('room-form')`); err != nil {
		t.Fatalf("console after single sign-on: %v", err)
	}
}
