package dialplan

import "testing"

// TestSharedIVR runs the dialogue of a shared number: dial-in code first,
// then the room's PIN when it has one.
func TestSharedIVR(t *testing.T) {
	hash, err := HashPIN("1234")
	if err != nil {
		t.Fatal(err)
	}
	rooms := map[string]Room{
		"111111": {Slug: "locked", PINHash: hash, DialCode: "111111"},
		"222222": {Slug: "open", DialCode: "222222"},
	}
	lookup := func(code string) (Room, bool) { r, ok := rooms[code]; return r, ok }
	const (
		first = "SetTimer(10s)"
		inter = "SetTimer(5s)"
	)
	tests := []struct {
		name       string
		steps      []step
		wantJoined bool
	}{
		{"code then PIN", []step{
			{"start", "Play(enter_code)"},
			{"done", first},
			{"11111", inter}, {"1", inter},
			{"#", "CancelTimer SetRoom(locked) Play(enter_pin)"},
			{"done", first},
			{"1234#", "CancelTimer PINAccepted Play(welcome)"},
			{"done", "Join"},
		}, true},
		{"code of a room without PIN", []step{
			{"start", "Play(enter_code)"}, {"done", first},
			{"222222#", "CancelTimer SetRoom(open) Play(welcome)"},
			{"done", "Join"},
		}, true},
		{"wrong code counts as a failure", []step{
			{"start", "Play(enter_code)"}, {"done", first},
			{"123456#", "CancelTimer PINFailed Play(wrong_code)"}, {"done", first},
			{"#", "CancelTimer PINFailed Play(wrong_code)"}, {"done", first},
			{"timeout", "CancelTimer Play(goodbye)"}, // silence: a try, no PIN failure
			{"done", "Hangup"},
			{"222222#", ""},
		}, false},
		{"wrong code then right code, fresh PIN tries", []step{
			{"start", "Play(enter_code)"}, {"done", first},
			{"9#", "CancelTimer PINFailed Play(wrong_code)"}, {"done", first},
			{"1*111111#", "CancelTimer SetRoom(locked) Play(enter_pin)"}, {"done", first},
			{"1#", "CancelTimer PINFailed Play(wrong_pin)"}, {"done", first},
			{"2#", "CancelTimer PINFailed Play(wrong_pin)"}, {"done", first},
			{"1234#", "CancelTimer PINAccepted Play(welcome)"}, {"done", "Join"},
		}, true},
		{"the code is not the PIN", []step{
			{"start", "Play(enter_code)"}, {"done", first},
			{"1234#", "CancelTimer PINFailed Play(wrong_code)"},
		}, false},
		{"barge-in on the code prompt", []step{
			{"start", "Play(enter_code)"},
			{"2", "StopPrompt " + inter},
			{"22222#", "CancelTimer SetRoom(open) Play(welcome)"},
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewSharedIVR(lookup, IVROptions{})
			for i, s := range tt.steps {
				if got := actions(feed(v, s.ev)); got != s.want {
					t.Fatalf("step %d (%q): got %q, want %q", i, s.ev, got, s.want)
				}
			}
			if got := v.Joined(); got != tt.wantJoined {
				t.Errorf("Joined(): got %v, want %v", got, tt.wantJoined)
			}
		})
	}
}
