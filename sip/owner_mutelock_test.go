package sip

import (
	"slices"
	"testing"
)

// muteLocker is sfu.MuteLocker as the room finds it on the owner.
type muteLocker interface{ SetMuteLocked(locked bool) }

// While a moderator locked the caller's mute, *6 replays "muted" and the
// room still gets silence; after the unlock *6 unmutes again.
func TestModeratorMuteLockRefusesKeypadUnmute(t *testing.T) {
	rec := &recordingPrompts{}
	env := startServerWith(t, Config{}, rec)
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	j := env.waitJoin(t)
	waitPrompts(t, rec, "de/welcome")
	l, ok := j.info.Owner.(muteLocker)
	if !ok {
		t.Fatalf("owner %T does not implement SetMuteLocked", j.info.Owner)
	}
	l.SetMuteLocked(true)
	j.info.Owner.SetMuted(true)
	waitPrompts(t, rec, "de/welcome", "de/muted")

	p.sendDTMFLikeSipp("*6")
	waitPrompts(t, rec, "de/welcome", "de/muted", "de/muted")
	p.sendTone(25)
	waitFrames(t, j.member, 25)
	if got := j.member.loudFrames(); got != 0 {
		t.Errorf("%d loud frames reached the room after *6 under a mute lock, want 0", got)
	}
	j.member.mu.Lock()
	if slices.Contains(j.member.muted, false) {
		t.Errorf("SetMuted calls %v, want no unmute while locked", j.member.muted)
	}
	j.member.mu.Unlock()

	l.SetMuteLocked(false)
	p.sendDTMFLikeSipp("*6")
	waitPrompts(t, rec, "de/welcome", "de/muted", "de/muted", "de/unmuted")
	p.sendToneUntil(toClosed(j.member.loudSig), testWaitLong) // until the unmute takes effect
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}
