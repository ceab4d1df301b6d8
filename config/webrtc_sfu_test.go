package config

import (
	"strings"
	"testing"
)

func TestAudioLastN(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want int
		err  string
	}{
		{"", 3, ""},
		{"webrtc: {audio_last_n: 0}", 0, ""},
		{"webrtc: {audio_last_n: 5}", 5, ""},
		{"webrtc: {audio_last_n: -1}", 0, "webrtc.audio_last_n: -1 is negative"},
		{"webrtc: {audio_last_n: many}", 0, "webrtc.audio_last_n"},
	} {
		c, err := Parse([]byte(tc.yaml))
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: got %v, want an error containing %q", tc.yaml, err, tc.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.yaml, err)
		case c.WebRTC.LastN() != tc.want:
			t.Errorf("%q: LastN = %d, want %d", tc.yaml, c.WebRTC.LastN(), tc.want)
		}
	}
}
