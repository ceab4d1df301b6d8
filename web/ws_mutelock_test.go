package web

import (
	"testing"

	"dialroom/sfu"
)

// rosterEntry returns id's roster entry in m (ok false if absent).
func rosterEntry(m message, id string) (sfu.Participant, bool) {
	for _, p := range m.Participants {
		if p.ID == id {
			return p, true
		}
	}
	return sfu.Participant{}, false
}

// nextRosterWhere reads rosters until id's entry satisfies f.
func nextRosterWhere(c *wsClient, id string, f func(sfu.Participant) bool) sfu.Participant {
	c.t.Helper()
	for {
		if p, ok := rosterEntry(c.next("roster"), id); ok && f(p) {
			return p
		}
	}
}

// A moderator's mute_lock mutes a browser participant, which then cannot
// unmute itself until mute_unlock.
func TestWSMuteLock(t *testing.T) {
	srv, mgr := newModServer(t)
	mod, jm := joinAs(t, srv, "Mod", ModeratorToken(testSecret, "demo"))
	usr, ju := joinAs(t, srv, "Usr", "")

	usr.send(moderateMsg{Type: "moderate", Action: modMuteLock, Target: jm.ID})
	if e := usr.next("error"); e.Code != codeForbidden {
		t.Errorf("participant locks a mute: got %q, want %q", e.Code, codeForbidden)
	}
	mod.send(moderateMsg{Type: "moderate", Action: modMuteLock, Target: ju.ID})
	if m := usr.next("control"); m.Action != sfu.ControlMute || m.By != "Mod" {
		t.Errorf("mute_lock: got %+v, want control mute by Mod", m)
	}
	nextRosterWhere(mod, ju.ID, func(p sfu.Participant) bool { return p.Muted && p.MuteLocked })

	usr.send(muteMsg{Type: "mute", Muted: false})
	if e := usr.next("error"); e.Code != codeMuteLocked {
		t.Errorf("own unmute while locked: got %q, want %q", e.Code, codeMuteLocked)
	}
	for _, p := range mgr.Room("demo").Participants() {
		if p.ID == ju.ID && (!p.Muted || !p.MuteLocked) {
			t.Errorf("after a refused unmute: got muted %v locked %v, want both true", p.Muted, p.MuteLocked)
		}
	}

	mod.send(moderateMsg{Type: "moderate", Action: modMuteUnlock, Target: ju.ID})
	p := nextRosterWhere(mod, ju.ID, func(p sfu.Participant) bool { return !p.MuteLocked })
	if !p.Muted {
		t.Errorf("after mute_unlock: got muted false, want still muted")
	}
	usr.send(muteMsg{Type: "mute", Muted: false})
	nextRosterWhere(mod, ju.ID, func(p sfu.Participant) bool { return !p.Muted })
}
