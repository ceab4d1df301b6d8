package web

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"
)

// TestBrowserMuteLock: Ann mutes and locks Bob from the participant list;
// Bob's microphone goes off and its button is disabled; after the unlock
// the button works again.
func TestBrowserMuteLock(t *testing.T) {
	tab := startChromium(t)
	srv, mgr := newModServer(t)
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	defer cancel()
	mod := url.QueryEscape(ModeratorToken(testSecret, "demo"))
	tab2, ids := joinTabs(t, ctx, tab, srv.URL, [2]string{"name=Ann&mod=" + mod, "name=Bob"})

	click(t, tab, `#people-toggle`)
	click(t, tab, fmt.Sprintf(`[data-person="%s"] [data-action="mute_lock"]`, ids[1]))
	if err := waitIn(ctx, tab2, `document.getElementById('mic').disabled &&
		document.getElementById('mic').getAttribute('aria-pressed') === 'true' &&
		window.dialroom.session().pc.getSenders().every((s) => !s.track || s.track.kind !== 'audio' || !s.track.enabled)`); err != nil {
		t.Fatalf("Bob's microphone after mute_lock: %v", err)
	}
	if err := waitCond(ctx, func() bool { return mgr.Room("demo").MuteLocked(ids[1]) }); err != nil {
		t.Fatalf("roster never showed Bob's mute locked: %v", err)
	}
	click(t, tab, fmt.Sprintf(`[data-person="%s"] [data-action="mute_unlock"]`, ids[1]))
	if err := waitIn(ctx, tab2, `!document.getElementById('mic').disabled`); err != nil {
		t.Fatalf("Bob's microphone button after mute_unlock: %v", err)
	}
	click(t, tab2, `#mic`)
	if err := waitCond(ctx, func() bool {
		for _, p := range mgr.Room("demo").Participants() {
			if p.ID == ids[1] {
				return !p.Muted
			}
		}
		return false
	}); err != nil {
		t.Fatalf("Bob could not unmute after the unlock: %v", err)
	}
}
