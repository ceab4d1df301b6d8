package sip

import (
	"slices"
	"testing"
	"time"
)

// The moderator PIN makes the caller a moderator in the room; the room PIN
// a participant.
func TestModeratorPINJoinsAsModerator(t *testing.T) {
	for _, tt := range []struct {
		pin  string
		want bool
	}{{"975310#", true}, {"1234#", false}} {
		env := startServer(t, Config{})
		p := newPhone(t, env.srv.UDPAddr())
		p.call(modNumber)
		p.waitLoudAudio(testWaitLong)
		p.sendDTMFLikeSipp(tt.pin)
		j := env.waitJoin(t)
		if j.info.Moderator != tt.want {
			t.Errorf("PIN %s: moderator %v, want %v", tt.pin, j.info.Moderator, tt.want)
		}
		if j.info.Owner == nil {
			t.Errorf("PIN %s: no Owner for moderator actions", tt.pin)
		}
		p.hangup()
		waitClosed(t, j.member.left, "Leave")
	}
}

// A moderator mutes the caller (the room gets silence) and removes it
// (BYE, and the caller leaves the room).
func TestModeratorMutesAndRemoves(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	j := env.waitJoin(t)
	j.info.Owner.SetMuted(true)
	p.sendTone(25)
	waitFrames(t, j.member, 25) // all 25 tone frames reached the mixer's side
	if got := j.member.loudFrames(); got != 0 {
		t.Errorf("%d loud frames reached the room while muted by a moderator, want 0", got)
	}
	j.info.Owner.SetMuted(false)
	p.sendToneUntil(toClosed(j.member.loudSig), testWaitLong) // until the unmute takes effect
	j.info.Owner.Remove()
	j.info.Owner.Remove() // idempotent
	p.waitBye(testWaitLong)
	waitClosed(t, j.member.left, "Leave")
}

// waitFrames waits until m got at least n frames (a condition wait on the
// reader goroutine, polled).
func waitFrames(t *testing.T, m *fakeMember, n int) {
	t.Helper()
	deadline := time.Now().Add(testWaitLong)
	for time.Now().Before(deadline) {
		m.mu.Lock()
		got := m.frames
		m.mu.Unlock()
		if got >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("fewer than %d frames reached the room", n)
}

// A moderator's mute and unmute are announced to the caller with the same
// prompts as its own *6.
func TestModeratorMuteIsAnnounced(t *testing.T) {
	rec := &recordingPrompts{}
	env := startServerWith(t, Config{}, rec)
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	j := env.waitJoin(t)
	waitPrompts(t, rec, "de/welcome")
	j.info.Owner.SetMuted(true)
	waitPrompts(t, rec, "de/welcome", "de/muted")
	j.info.Owner.SetMuted(false)
	waitPrompts(t, rec, "de/welcome", "de/muted", "de/unmuted")
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}

// waitPrompts polls until exactly want were asked for, in order.
func waitPrompts(t *testing.T, rec *recordingPrompts, want ...string) {
	t.Helper()
	deadline := time.Now().Add(testWaitLong)
	for {
		got := rec.list()
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("prompts: got %v, want %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
