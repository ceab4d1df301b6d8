package dialplan

import "testing"

// While a moderator has locked the caller's mute, *6 cannot unmute; once
// the lock is lifted it can again.
func TestIVRMuteLock(t *testing.T) {
	tests := []struct {
		name   string
		muted  bool // a moderator muted the caller first
		locked bool
		keys   []string // each fed in turn; the last one's actions are checked
		want   string
	}{
		{"locked: *6 replays muted", true, true, []string{"*6"}, "Mute Play(muted)"},
		{"locked: *6 twice stays muted", true, true, []string{"*6", "*6"}, "Mute Play(muted)"},
		{"locked before the mute arrived", false, true, []string{"*6"}, "Mute Play(muted)"},
		{"unlocked: *6 unmutes", true, false, []string{"*6"}, "Unmute Play(unmuted)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewIVR(Room{Slug: "b"}, IVROptions{})
			feed(v, "start")
			feed(v, "done")
			v.SetMuted(tt.muted)
			v.SetMuteLocked(tt.locked)
			var got string
			for _, k := range tt.keys {
				got = actions(feed(v, k))
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	// Lifting the lock lets the caller unmute.
	v := NewIVR(Room{Slug: "b"}, IVROptions{})
	feed(v, "start")
	feed(v, "done")
	v.SetMuted(true)
	v.SetMuteLocked(true)
	feed(v, "*6")
	v.SetMuteLocked(false)
	if got, want := actions(feed(v, "*6")), "Unmute Play(unmuted)"; got != want {
		t.Errorf("*6 after unlock: got %q, want %q", got, want)
	}
}
