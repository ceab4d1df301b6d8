package web

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// cspRecorder runs before any page script and keeps every CSP violation
// the page reports.
const cspRecorder = `window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber);
});`

// cspWatch records CSP violations in a tab, both as the page sees them
// (cspRecorder) and as the browser logs them.
type cspWatch struct {
	mu     sync.Mutex
	logged []string
}

func (w *cspWatch) attach(t *testing.T, tab context.Context) {
	t.Helper()
	err := chromedp.Listen(tab, func(ev any) {
		var text string
		switch e := ev.(type) {
		case *cdplog.EventEntryAdded:
			text = e.Entry.Text
		case *runtime.EventConsoleAPICalled:
			for _, a := range e.Args {
				text += string(a.Value) + " " + a.Description
			}
		case *runtime.EventExceptionThrown:
			text = e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				text += " " + e.ExceptionDetails.Exception.Description
			}
		}
		if strings.Contains(text, "Content Security Policy") || strings.Contains(text, "Content-Security-Policy") {
			w.mu.Lock()
			w.logged = append(w.logged, text)
			w.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: cspRecorder}); err != nil {
		t.Fatal(err)
	}
}

// check fails the test for every violation tab's page recorded or the
// browser logged.
func (w *cspWatch) check(t *testing.T, where string, tab context.Context) {
	t.Helper()
	seen, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`window.__csp || ['recorder missing']`))
	if err != nil {
		t.Fatalf("%s: reading violations: %v", where, err)
	}
	for _, v := range seen {
		t.Errorf("%s: CSP violation: %s", where, v)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.logged {
		t.Errorf("%s: browser logged: %s", where, l)
	}
	w.logged = nil
}

// TestBrowserCSP: under the strict headers the start page, the privacy
// page, the room page (two participants joining and seeing each other's
// tiles) and the admin console work, and Chromium reports no CSP violation.
func TestBrowserCSP(t *testing.T) {
	tab := startChromium(t)
	srv, _ := newModServer(t)
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	defer cancel()
	tab2, cancel2 := chromedp.NewContext(tab)
	defer cancel2()
	var w cspWatch
	tabs := []context.Context{tab, tab2}
	for _, tb := range tabs {
		w.attach(t, tb)
	}

	if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(`form[action="/join"]`)); err != nil {
		t.Fatal(err)
	}
	w.check(t, "start page", tab)
	if err := chromedp.Do(tab, chromedp.Click(`a[href="/privacy"]`), chromedp.WaitVisible(`main.privacy h2`)); err != nil {
		t.Fatalf("privacy page from the start page: %v", err)
	}
	w.check(t, "privacy page", tab)

	for i, name := range []string{"Ann", "Bob"} {
		if err := chromedp.Do(tabs[i], chromedp.Navigate(srv.URL+"/r/demo?name="+name), chromedp.Click(`[data-testid=join]`)); err != nil {
			t.Fatal(err)
		}
	}
	for i, tb := range tabs {
		if err := waitIn(ctx, tb, `document.querySelectorAll('[data-kind="web"][data-participant]').length === 2`); err != nil {
			t.Fatalf("tab %d: %v", i+1, err)
		}
		// The style sheets applied: the join screen is hidden by room.css/style.css rules.
		if err := waitIn(ctx, tb, `document.styleSheets.length >= 2 && [...document.styleSheets].every(s => s.cssRules.length > 0)`); err != nil {
			t.Fatalf("tab %d: style sheets: %v", i+1, err)
		}
	}
	for i, tb := range tabs {
		w.check(t, []string{"Ann's room page", "Bob's room page"}[i], tb)
	}

	admin, _, _ := newAdminServer(t)
	if err := chromedp.Do(tab2, chromedp.Navigate(admin.URL+"/admin")); err != nil {
		t.Fatal(err)
	}
	if err := waitIn(ctx, tab2, `document.readyState === 'complete' && document.querySelector('form') !== null`); err != nil {
		t.Fatalf("admin page: %v", err)
	}
	w.check(t, "admin page", tab2)

	// The recorder does see a violation: an inline style is refused.
	if _, err := chromedp.Run(tab2, chromedp.Evaluate[bool](
		`(() => { const s = document.createElement('style'); s.textContent = 'body { color: red }'; document.head.appendChild(s); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	if err := waitIn(ctx, tab2, `window.__csp.some(v => v.startsWith('style-src'))`); err != nil {
		t.Errorf("an inline style was not reported as a violation: %v", err)
	}
}
