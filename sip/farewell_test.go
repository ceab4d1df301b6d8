package sip

import (
	"slices"
	"testing"

	"dialroom/mixer"
)

// A caller removed by a moderator leaves the room, hears the "removed"
// prompt and then gets BYE; when the moderator ends the meeting instead, the
// caller hears that the meeting has ended.
func TestRemovedCallerHearsPromptBeforeBye(t *testing.T) {
	for _, tc := range []struct {
		name   string
		act    func(o mixer.PhoneOwner)
		prompt string
	}{
		{"remove", mixer.PhoneOwner.Remove, "de/removed"},
		{"end", mixer.PhoneOwner.End, "de/meeting_ended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingPrompts{}
			env := startServerWith(t, Config{}, rec)
			p := newPhone(t, env.srv.UDPAddr())
			p.call(openNumber)
			j := env.waitJoin(t)
			tc.act(j.info.Owner)
			waitClosed(t, j.member.left, "Leave")
			p.skipQueued()
			p.waitLoudAudio(testWaitLong) // the prompt, sent by the call after leaving the mix
			p.waitBye(testWaitLong)
			want := []string{"de/welcome", tc.prompt}
			if got := rec.list(); !slices.Equal(got, want) {
				t.Errorf("prompts: got %v, want %v", got, want)
			}
		})
	}
}

// A locked room: the caller hears "room locked", then BYE, and never joins.
func TestLockedRoomHearsPromptThenBye(t *testing.T) {
	rec := &recordingPrompts{}
	env := startServerWith(t, Config{}, rec)
	env.bridge.set(ErrRoomLocked, false)
	p := newPhone(t, env.srv.UDPAddr())
	p.call(roomNumber)
	p.waitLoudAudio(testWaitLong)
	p.sendDTMFLikeSipp("1234#")
	p.waitBye(testWaitLong)
	want := []string{"en/enter_pin", "en/welcome", "en/room_locked"}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Errorf("prompts: got %v, want %v", got, want)
	}
}

// The first caller in an empty room hears so after the welcome; later
// callers (the bridge says the room is not empty) do not.
func TestFirstParticipantPrompt(t *testing.T) {
	for _, first := range []bool{true, false} {
		rec := &recordingPrompts{}
		env := startServerWith(t, Config{}, rec)
		env.bridge.set(nil, first)
		p := newPhone(t, env.srv.UDPAddr())
		p.call(openNumber)
		j := env.waitJoin(t)
		want := []string{"de/welcome"}
		if first {
			want = append(want, "de/first_participant")
		}
		// The prompt is asked for right after the join; hanging up then
		// leaving proves the call goroutine is past it.
		p.hangup()
		waitClosed(t, j.member.left, "Leave")
		if got := rec.list(); !slices.Equal(got, want) {
			t.Errorf("first=%v: prompts: got %v, want %v", first, got, want)
		}
	}
}
