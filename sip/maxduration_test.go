package sip

import (
	"net/netip"
	"slices"
	"testing"
	"time"
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
