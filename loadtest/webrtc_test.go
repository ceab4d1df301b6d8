package loadtest

import (
	"strings"
	"testing"
	"time"
)

func TestVP8SourceSizesAndKeyframes(t *testing.T) {
	s := newVP8Source(1, referenceVideoKbps, 1280, 720)
	var bytes int
	for i := 0; i < 3*keyframeEvery; i++ {
		f, key := s.next()
		if want := i%keyframeEvery == 0; key != want || vp8IsKeyframe(f) != want {
			t.Fatalf("frame %d: got key %v (header says %v), want %v", i, key, vp8IsKeyframe(f), want)
		}
		lo, hi := deltaMinBytes, deltaMaxBytes
		if key {
			lo, hi = keyMinBytes, keyMaxBytes
		}
		if len(f) < lo || len(f) > hi {
			t.Errorf("frame %d: got %d bytes, want %d..%d", i, len(f), lo, hi)
		}
		if key && (int(f[6])|int(f[7])<<8 != 1280 || int(f[8])|int(f[9])<<8 != 720) {
			t.Errorf("keyframe %d: size %x, want 1280x720", i, f[6:10])
		}
		bytes += len(f)
	}
	kbps := float64(bytes) * 8 / (3 * keyframeEvery / videoFPS) / 1000 // 3 keyframe periods of 3 s
	if kbps < 0.8*referenceVideoKbps || kbps > 1.2*referenceVideoKbps {
		t.Errorf("mean rate: got %.0f kbit/s, want about %d", kbps, referenceVideoKbps)
	}
}

func TestSimulcastAnswerLooksLikeABrowser(t *testing.T) {
	in := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ssrc:1 cname:x\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n" +
		"a=rid:q recv\r\na=simulcast:recv q;h;f\r\na=ssrc:2 cname:x\r\na=ssrc-group:FID 2 3\r\na=rid:q send\r\na=simulcast:send q;h;f\r\n"
	want := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ssrc:1 cname:x\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n" +
		"a=rid:q send\r\na=simulcast:send q;h;f\r\n"
	if got := simulcastAnswer(in); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestWebRTCConfigCheck(t *testing.T) {
	for _, tc := range []struct {
		cfg  WebRTCConfig
		want string
	}{
		{WebRTCConfig{URL: "ws://127.0.0.1:8080/ws", Room: "demo", Participants: 10}, ""},
		{WebRTCConfig{URL: "ws://localhost:8080/ws", Room: "demo", Participants: 200, Duration: 10 * time.Minute}, ""},
		{WebRTCConfig{URL: "ws://192.0.2.1:8080/ws", Room: "demo", Participants: 1}, "loopback"},
		{WebRTCConfig{URL: "http://127.0.0.1:8080/ws", Room: "demo", Participants: 1}, "want ws://"},
		{WebRTCConfig{URL: "ws://127.0.0.1:8080/ws", Room: "demo", Participants: 201}, "participants 201"},
		{WebRTCConfig{URL: "ws://127.0.0.1:8080/ws", Room: "demo", Participants: 1, Duration: 11 * time.Minute}, "duration"},
		{WebRTCConfig{URL: "ws://127.0.0.1:8080/ws", Participants: 1}, "no room"},
	} {
		err := tc.cfg.check()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: got %v, want no error", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: got %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
}
