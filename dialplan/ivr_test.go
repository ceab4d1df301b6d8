package dialplan

import (
	"strings"
	"testing"
	"time"
)

// step is one event fed to the IVR and the actions it must return.
type step struct {
	ev   string // "start", "done", "timeout", or digits like "12#" fed one by one
	want string // the actions of the last event, joined by " "; "" = none
}

func actions(acts []Action) string {
	s := make([]string, len(acts))
	for i, a := range acts {
		s[i] = a.String()
	}
	return strings.Join(s, " ")
}

func feed(v *IVR, ev string) []Action {
	switch ev {
	case "start":
		return v.Start()
	case "done":
		return v.PromptDone()
	case "timeout":
		return v.Timeout()
	}
	var last []Action
	for i := 0; i < len(ev); i++ {
		last = v.Digit(ev[i])
	}
	return last
}

func TestIVR(t *testing.T) {
	hash, err := HashPIN("1234")
	if err != nil {
		t.Fatal(err)
	}
	withPIN := Room{Slug: "a", PINHash: hash}
	noPIN := Room{Slug: "b"}
	const (
		first = "SetTimer(10s)"
		inter = "SetTimer(5s)"
	)
	tests := []struct {
		name       string
		room       Room
		steps      []step
		wantJoined bool
	}{
		{"right PIN", withPIN, []step{
			{"start", "Play(enter_pin)"},
			{"done", first},
			{"1", inter}, {"2", inter}, {"34", inter},
			{"#", "CancelTimer PINAccepted Play(welcome)"},
			{"done", "Join"},
		}, true},
		{"wrong PIN three times", withPIN, []step{
			{"start", "Play(enter_pin)"},
			{"done", first},
			{"9999#", "CancelTimer PINFailed Play(wrong_pin)"},
			{"done", first},
			{"1235#", "CancelTimer PINFailed Play(wrong_pin)"},
			{"done", first},
			{"#", "CancelTimer PINFailed Play(goodbye)"},
			{"done", "Hangup"},
			{"1234#", ""}, {"timeout", ""}, {"done", ""}, {"start", ""},
		}, false},
		{"wrong then right", withPIN, []step{
			{"start", "Play(enter_pin)"}, {"done", first},
			{"12#", "CancelTimer PINFailed Play(wrong_pin)"}, {"done", first},
			{"1234#", "CancelTimer PINAccepted Play(welcome)"}, {"done", "Join"},
		}, true},
		{"no PIN", noPIN, []step{
			{"start", "Play(welcome)"},
			{"1", ""},
			{"done", "Join"},
		}, true},
		{"timeouts", withPIN, []step{
			{"start", "Play(enter_pin)"},
			{"timeout", ""}, // stale: no timer armed while the prompt plays
			{"done", first},
			{"timeout", "CancelTimer Play(enter_pin)"}, // silence: a try, no PIN failure
			{"done", first},
			{"12", inter},
			{"timeout", "CancelTimer PINFailed Play(wrong_pin)"}, // digits without '#' are a guess
			{"done", first},
			{"timeout", "CancelTimer Play(goodbye)"},
			{"done", "Hangup"},
		}, false},
		{"barge-in", withPIN, []step{
			{"start", "Play(enter_pin)"},
			{"1", "StopPrompt " + inter},
			{"done", ""}, // no PromptDone expected after StopPrompt; ignore a late one
			{"234#", "CancelTimer PINAccepted Play(welcome)"},
			{"done", "Join"},
		}, true},
		{"barge-in during wrong_pin", withPIN, []step{
			{"start", "Play(enter_pin)"}, {"done", first},
			{"5#", "CancelTimer PINFailed Play(wrong_pin)"},
			{"1", "StopPrompt " + inter},
			{"234#", "CancelTimer PINAccepted Play(welcome)"},
			{"done", "Join"},
		}, true},
		{"star clears", withPIN, []step{
			{"start", "Play(enter_pin)"}, {"done", first},
			{"99", inter},
			{"*", first},
			{"1234#", "CancelTimer PINAccepted Play(welcome)"},
			{"done", "Join"},
		}, true},
		{"too many digits", withPIN, []step{
			{"start", "Play(enter_pin)"}, {"done", first},
			{"123412341234", inter},
			{"1", "CancelTimer PINFailed Play(wrong_pin)"},
		}, false},
		{"hash during welcome ignored", withPIN, []step{
			{"start", "Play(enter_pin)"},
			{"1234#", "CancelTimer PINAccepted Play(welcome)"},
			{"5#", ""}, {"timeout", ""},
			{"done", "Join"},
		}, true},
		{"digits after join", noPIN, []step{
			{"start", "Play(welcome)"}, {"done", "Join"},
			{"1234#", ""}, {"*", ""}, {"timeout", ""}, {"done", ""}, {"start", ""},
		}, true},
		{"keypad menu in the meeting", noPIN, []step{
			{"start", "Play(welcome)"}, {"done", "Join"},
			{"*6", "Mute Play(muted)"}, {"done", ""},
			{"*6", "Unmute Play(unmuted)"},
			{"*0", "Play(keypad_help)"}, {"*#", "Play(keypad_help)"},
			{"6", ""}, {"*5", ""}, {"5*", ""},
			{"6", "Mute Play(muted)"}, // "5*" left the star pressed
			{"**6", "Unmute Play(unmuted)"},
		}, true},
		{"invalid keys ignored", withPIN, []step{
			{"start", "Play(enter_pin)"}, {"done", first},
			{"A", ""}, {"x", ""},
			{"1234#", "CancelTimer PINAccepted Play(welcome)"},
		}, false},
		{"digit before start ignored", withPIN, []step{
			{"1", ""}, {"done", ""}, {"timeout", ""},
			{"start", "Play(enter_pin)"},
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewIVR(tt.room, IVROptions{})
			for i, s := range tt.steps {
				if got := actions(feed(v, s.ev)); got != s.want {
					t.Fatalf("step %d (%q): got %q, want %q", i, s.ev, got, s.want)
				}
			}
			if got := v.Joined(); got != tt.wantJoined {
				t.Errorf("Joined() = %v, want %v", got, tt.wantJoined)
			}
		})
	}
}

func TestIVROptions(t *testing.T) {
	hash, err := HashPIN("1234")
	if err != nil {
		t.Fatal(err)
	}
	v := NewIVR(Room{PINHash: hash}, IVROptions{MaxTries: 1, FirstDigit: 3 * time.Second, InterDigit: time.Second, MaxDigits: 4})
	steps := []step{
		{"start", "Play(enter_pin)"},
		{"done", "SetTimer(3s)"},
		{"1", "SetTimer(1s)"},
		{"2345", "CancelTimer PINFailed Play(goodbye)"},
		{"done", "Hangup"},
	}
	for i, s := range steps {
		if got := actions(feed(v, s.ev)); got != s.want {
			t.Fatalf("step %d (%q): got %q, want %q", i, s.ev, got, s.want)
		}
	}
}

// The moderator PIN joins as moderator; the room PIN as participant; a
// wrong PIN still fails.
func TestIVRModeratorPIN(t *testing.T) {
	pin, err := HashPIN("1234")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := HashPIN("987654")
	if err != nil {
		t.Fatal(err)
	}
	room := Room{PINHash: pin, ModPINHash: mod}
	tests := []struct {
		entry, want string
	}{
		{"987654#", "Join(moderator)"},
		{"1234#", "Join"},
	}
	for _, tt := range tests {
		v := NewIVR(room, IVROptions{})
		feed(v, "start")
		feed(v, "done")
		feed(v, tt.entry)
		if got := actions(feed(v, "done")); got != tt.want {
			t.Errorf("PIN %q: got %q, want %q", tt.entry, got, tt.want)
		}
	}
	v := NewIVR(room, IVROptions{})
	feed(v, "start")
	feed(v, "done")
	if got := actions(feed(v, "5555#")); got != "CancelTimer PINFailed Play(wrong_pin)" {
		t.Errorf("wrong PIN: got %q, want a failure", got)
	}
}

// After a moderator muted the caller, *6 unmutes.
func TestIVRMutedByModerator(t *testing.T) {
	v := NewIVR(Room{Slug: "b"}, IVROptions{})
	feed(v, "start")
	feed(v, "done")
	v.SetMuted(true)
	if got := actions(feed(v, "*6")); got != "Unmute Play(unmuted)" {
		t.Errorf("*6 after a moderator mute: got %q, want %q", got, "Unmute Play(unmuted)")
	}
}

// The IVR compares entries through the CheckPIN it is given (the phone side
// bounds how many run at once).
func TestIVRUsesGivenPINCheck(t *testing.T) {
	var seen []string
	check := func(hash, pin string) bool {
		seen = append(seen, hash+"="+pin)
		return pin == "42"
	}
	v := NewIVR(Room{PINHash: "stored"}, IVROptions{CheckPIN: check})
	feed(v, "start")
	feed(v, "done")
	if got := actions(feed(v, "42#")); !strings.Contains(got, "Play(welcome)") {
		t.Errorf("right PIN through the given check: got %q, want Play(welcome)", got)
	}
	if len(seen) != 1 || seen[0] != "stored=42" {
		t.Errorf("checks: got %v, want [stored=42]", seen)
	}
}
