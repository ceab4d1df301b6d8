package web

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// joinTabs opens srv's demo room in tab and a second tab as the given names
// (query strings appended) and waits until both see two web tiles. It
// returns the second tab and both participant IDs.
func joinTabs(t *testing.T, ctx, tab context.Context, base string, queries [2]string) (context.Context, [2]string) {
	t.Helper()
	tab2, cancel := chromedp.NewContext(tab)
	t.Cleanup(cancel)
	tabs := [2]context.Context{tab, tab2}
	var ids [2]string
	for i, tb := range tabs {
		if err := chromedp.Do(tb, chromedp.Navigate(base+"/r/demo?"+queries[i]), chromedp.Click(`[data-testid=join]`)); err != nil {
			t.Fatal(err)
		}
	}
	for i, tb := range tabs {
		if err := waitIn(ctx, tb, `document.querySelectorAll('[data-kind="web"][data-participant]').length === 2`); err != nil {
			t.Fatalf("tab %d: %v", i+1, err)
		}
		id, err := chromedp.Run(tb, chromedp.Evaluate[string](`window.dialroom.session().id`))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return tab2, ids
}

// waitIn is waitJS in tab, bounded by ctx.
func waitIn(ctx, tab context.Context, js string) error {
	c, stop := context.WithCancel(tab)
	defer stop()
	defer context.AfterFunc(ctx, stop)()
	return waitJS(c, js)
}

// click clicks the element matching sel in tab, once it is there, shown
// and enabled. The click is dispatched in the page on the element the
// selector finds at that moment: the page re-renders lists (people, tiles)
// when a roster or speaker message comes, and a mouse click at coordinates
// measured a moment before can land on a replaced node or on another
// button. It counts as a user's gesture, as a real click would, so it may
// start media (screen sharing).
func click(t *testing.T, tab context.Context, sel string) {
	t.Helper()
	js := fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		if (!el || el.disabled || el.getClientRects().length === 0) return false;
		el.click();
		return true;
	})()`, strconv.Quote(sel))
	gesture := func(p *runtime.EvaluateParams) { p.UserGesture = new(true) }
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	var err error // the last evaluation's
	if werr := waitCond(ctx, func() bool {
		var clicked bool
		clicked, err = chromedp.Run(ctx, chromedp.Evaluate[bool](js, gesture))
		return err == nil && clicked
	}); werr != nil {
		t.Fatalf("click %s: %v (last error %v)", sel, werr, err)
	}
}

// TestBrowserChat: Ann writes to the room and Bob sees an unread count, then
// the message; Bob answers privately; a late joiner gets only the room message.
func TestBrowserChat(t *testing.T) {
	tab := startChromium(t)
	srv, _ := newModServer(t)
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	defer cancel()
	tab2, ids := joinTabs(t, ctx, tab, srv.URL, [2]string{"name=Ann", "name=Bob"})

	click(t, tab, `#chat-toggle`)
	if err := chromedp.Do(tab, chromedp.SendKeys(`#chat-input`, "Hallo Bob"),
		chromedp.Click(`#chat-form button[type=submit]`)); err != nil {
		t.Fatal(err)
	}
	if err := waitIn(ctx, tab2, `(() => { const b = document.getElementById('chat-badge'); return !b.hidden && b.textContent === '1'; })()`); err != nil {
		t.Fatalf("Bob's unread badge: %v", err)
	}
	click(t, tab2, `#chat-toggle`)
	if err := waitIn(ctx, tab2, `document.getElementById('chat-log').textContent.includes('Hallo Bob') && document.getElementById('chat-badge').hidden`); err != nil {
		t.Fatalf("Bob's chat log: %v", err)
	}
	// Bob answers privately from Ann's entry in the participant list.
	click(t, tab2, `#people-toggle`)
	click(t, tab2, fmt.Sprintf(`[data-person="%s"] [data-action="message"]`, ids[0]))
	if err := chromedp.Do(tab2, chromedp.SendKeys(`#chat-input`, "nur für dich"),
		chromedp.Click(`#chat-form button[type=submit]`)); err != nil {
		t.Fatal(err)
	}
	// Ann is looking at the room chat: Bob's conversation shows one unread.
	js := fmt.Sprintf(`(() => { const o = document.querySelector('#chat-to option[value="%s"]'); return !!o && o.textContent.includes('(1)'); })()`, ids[1])
	if err := waitIn(ctx, tab, js); err != nil {
		t.Fatalf("Ann's private unread count: %v", err)
	}
	if err := chromedp.Do(tab, chromedp.SetValue(`#chat-to`, ids[1])); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.getElementById('chat-to').dispatchEvent(new Event('change'))`)); err != nil {
		t.Fatal(err)
	}
	if err := waitIn(ctx, tab, `document.getElementById('chat-log').textContent.includes('nur für dich')`); err != nil {
		t.Fatalf("Ann's private conversation: %v", err)
	}
	c, _, err := dialWS(t, srv.URL, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.send(joinMsg{Type: "join", Room: "demo", Name: "Dan"})
	j := c.next("joined")
	if len(j.History) != 1 || j.History[0].Text != "Hallo Bob" {
		t.Errorf("late joiner history: got %+v, want only the room message", j.History)
	}
}

// TestBrowserModeratorMutes: Ann joined with the moderator link mutes Bob;
// Bob's page turns its microphone off and the roster shows him muted. Bob,
// a participant, has no moderator controls.
func TestBrowserModeratorMutes(t *testing.T) {
	tab := startChromium(t)
	srv, mgr := newModServer(t)
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	defer cancel()
	mod := url.QueryEscape(ModeratorToken(testSecret, "demo"))
	tab2, ids := joinTabs(t, ctx, tab, srv.URL, [2]string{"name=Ann&mod=" + mod, "name=Bob"})

	if err := waitIn(ctx, tab2, `document.getElementById('mod-tools').hidden && !document.querySelector('[data-action="mute"]')`); err != nil {
		t.Errorf("participant sees moderator controls: %v", err)
	}
	if err := waitIn(ctx, tab2, `window.dialroom.session().pc.getSenders().some((s) => s.track && s.track.kind === 'audio' && s.track.enabled)`); err != nil {
		t.Fatalf("Bob's microphone is not on at the start: %v", err)
	}
	click(t, tab, `#people-toggle`)
	click(t, tab, fmt.Sprintf(`[data-person="%s"] [data-action="mute"]`, ids[1]))
	if err := waitIn(ctx, tab2, `document.getElementById('mic').getAttribute('aria-pressed') === 'true' &&
		window.dialroom.session().pc.getSenders().every((s) => !s.track || s.track.kind !== 'audio' || !s.track.enabled)`); err != nil {
		t.Fatalf("Bob's microphone after the moderator muted him: %v", err)
	}
	if err := waitCond(ctx, func() bool {
		for _, p := range mgr.Room("demo").Roster().Participants {
			if p.ID == ids[1] {
				return p.Muted
			}
		}
		return false
	}); err != nil {
		t.Fatalf("roster never showed Bob muted: %v", err)
	}
	if err := waitIn(ctx, tab, fmt.Sprintf(`!!document.querySelector('.tile[data-participant="%s"][data-muted="true"]')`, ids[1])); err != nil {
		t.Errorf("Ann's tile of Bob not marked muted: %v", err)
	}
	// Lock, then end: Bob sees the end screen.
	click(t, tab, `#lock-room`)
	if err := waitIn(ctx, tab2, `!document.getElementById('locked-badge').hidden`); err != nil {
		t.Errorf("lock not shown to Bob: %v", err)
	}
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`(window.confirm = () => true, true)`)); err != nil {
		t.Fatal(err)
	}
	click(t, tab, `#end-meeting`)
	if err := waitIn(ctx, tab2, `!document.getElementById('end-screen').hidden && document.getElementById('end-text').textContent.includes('Ann')`); err != nil {
		t.Fatalf("Bob's end screen: %v", err)
	}
	if n := len(mgr.Room("demo").Roster().Participants); n != 0 {
		t.Errorf("participants after end: got %d, want 0", n)
	}
}

// TestBrowserScreenShare: Ann shares her screen (Chromium's fake capture);
// Bob's page switches to the speaker view with Ann's tile large, and the
// video it receives from Ann changes from the camera's size to the screen's.
func TestBrowserScreenShare(t *testing.T) {
	tab := startChromium(t)
	srv, mgr := newModServer(t)
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	defer cancel()
	tab2, ids := joinTabs(t, ctx, tab, srv.URL, [2]string{"name=Ann", "name=Bob"})
	annVideo := fmt.Sprintf(`document.querySelector('.tile[data-participant="%s"] video')`, ids[0])
	if err := waitIn(ctx, tab2, annVideo+` && `+annVideo+`.videoWidth > 0`); err != nil {
		t.Fatalf("Bob sees no camera video from Ann: %v", err)
	}
	// On loopback nothing is lost: Bob's tile of Ann shows a good connection.
	qctx, qcancel := context.WithTimeout(ctx, 20*time.Second)
	if err := waitIn(qctx, tab2, fmt.Sprintf(`document.querySelector('.tile[data-participant="%s"]').dataset.quality === 'good'`, ids[0])); err != nil {
		t.Errorf("quality indicator of Ann's tile: %v", err)
	}
	qcancel()
	camWidth, err := chromedp.Run(tab2, chromedp.Evaluate[int](annVideo+`.videoWidth`))
	if err != nil {
		t.Fatal(err)
	}
	click(t, tab, `#share`)
	if err := waitIn(ctx, tab, `document.getElementById('share').getAttribute('aria-pressed') === 'true'`); err != nil {
		t.Fatalf("share did not start: %v", err)
	}
	screenWidth, err := chromedp.Run(tab, chromedp.Evaluate[int](`window.dialroom.session().pc.getSenders().find((s) => s.track && s.track.kind === 'video').track.getSettings().width`))
	if err != nil || screenWidth == camWidth {
		t.Fatalf("screen width %d (%v) equals the camera's %d; cannot tell them apart", screenWidth, err, camWidth)
	}
	js := fmt.Sprintf(`!!document.querySelector('.tile.main[data-participant="%s"][data-sharing="true"]') && %s.videoWidth !== %d`, ids[0], annVideo, camWidth)
	if err := waitIn(ctx, tab2, js); err != nil {
		t.Fatalf("Bob's view of the share: %v", err)
	}
	got, _ := chromedp.Run(tab2, chromedp.Evaluate[int](annVideo+`.videoWidth`))
	t.Logf("Ann's video at Bob: camera %d px wide, screen share %d px (sent %d)", camWidth, got, screenWidth)
	click(t, tab, `#share`)
	if err := waitCond(ctx, func() bool {
		for _, p := range mgr.Room("demo").Roster().Participants {
			if p.ID == ids[0] {
				return !p.Sharing
			}
		}
		return false
	}); err != nil {
		t.Errorf("roster still shows Ann sharing: %v", err)
	}
}
