package sip

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"dialroom/dialplan"
	"dialroom/prompts"
)

// A trunk's MaxDuration ends its calls: the caller leaves the room, hears
// goodbye and gets BYE, about MaxDuration after the answer. Calls from
// another trunk without a limit stay.
func TestTrunkMaxDuration(t *testing.T) {
	const limit = 1500 * time.Millisecond
	rec := &recordingPrompts{}
	trunk := Trunk{Name: "short", Sources: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, MaxDuration: limit}
	env := startServerWith(t, Config{Trunks: []Trunk{trunk}}, rec)
	p := newPhone(t, env.srv.UDPAddr())
	start := time.Now()
	p.call(openNumber)
	j := env.waitJoin(t)
	waitClosed(t, j.member.left, "Leave at the maximum duration")
	p.waitBye(testWaitLong)
	if d := time.Since(start); d < limit || d > limit+5*time.Second {
		t.Errorf("call lasted %v, want about %v", d, limit)
	}
	want := []string{"de/welcome", "de/goodbye"}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Errorf("prompts: got %v, want %v", got, want)
	}
}

// Without MaxDuration a call outlasts that time.
func TestNoMaxDurationByDefault(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	j := env.waitJoin(t)
	select {
	case <-j.member.left:
		t.Fatal("call without a duration limit left the room within 2 s")
	case <-time.After(2 * time.Second):
	}
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}

// At a trunk's MaxDuration the caller hears the whole goodbye recording
// (not "the meeting has ended": the meeting goes on for the others),
// judged by the audio that arrives before the BYE.
func TestMaxDurationGoodbyeAudio(t *testing.T) {
	set, err := prompts.Load()
	if err != nil {
		t.Fatal(err)
	}
	// Long enough for the welcome recording, so that the caller joins first.
	welcome := time.Duration(len(set.Prompt("de", dialplan.PromptWelcome))) * time.Second / 8000
	trunk := Trunk{Name: "short", Sources: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, MaxDuration: welcome + 1500*time.Millisecond}
	env := startServerWith(t, Config{Trunks: []Trunk{trunk}}, set)
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	env.waitJoin(t)
	p.skipQueued()
	audio := p.audioUntilBye(testWaitLong)
	got, r, second := promptHeard(t, set, "de", audio)
	t.Logf("heard %s (correlation %.3f, next best %.3f) in %.1f s of audio", got, r, second, float64(len(audio))/8000)
	if got != dialplan.PromptGoodbye || r < 0.9 || second > r-0.2 {
		t.Errorf("heard %s (correlation %.3f, next best %.3f), want goodbye at >= 0.9, every other recording at least 0.2 lower", got, r, second)
	}
}
