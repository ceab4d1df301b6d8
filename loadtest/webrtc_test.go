package loadtest

import (
	"net"
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
		{WebRTCConfig{URL: "ws://127.0.0.1:8080/ws", Room: "demo", Participants: 25, BWCapKbps: 1000}, ""},
		{WebRTCConfig{URL: "ws://127.0.0.1:8080/ws", Room: "demo", Participants: 2, BWCapKbps: -1}, "bandwidth cap"},
		{WebRTCConfig{URL: "ws://127.0.0.1:8080/ws", Room: "demo", Participants: 2, BWCapKbps: 500, Capped: 3}, "capped"},
		{WebRTCConfig{URL: "ws://127.0.0.1:8080/ws", Room: "demo", Participants: 2, MainWidth: 1280}, "main tile"},
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

// TestShapedConnRate: a burst far above the line's rate comes out at the
// rate, in order, and what overflows the buffer is dropped and counted.
func TestShapedConnRate(t *testing.T) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = rx.SetReadBuffer(1 << 20) // the whole burst, so that the kernel drops none of it
	const kbps, queue = 800, 200 * time.Millisecond
	s := newShapedConn(rx, kbps, queue)
	defer s.Close()
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	// 150 datagrams of 1000 bytes at once: 1.2 Mbit, 1.5 s at 800 kbit/s;
	// the 200 ms buffer holds about 20 of them.
	const n, size = 150, 1000
	for i := range n {
		b := make([]byte, size)
		b[0], b[1] = byte(i>>8), byte(i)
		if _, err := tx.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1500)
	got, last := 0, -1
	var first, end time.Time
	for {
		// The sender is done: whatever was not dropped is in the line.
		passed, _, dropped := s.counts()
		if passed+dropped == n && int(passed) == got {
			break
		}
		m, _, err := s.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if m != size {
			t.Fatalf("datagram of %d bytes, want %d", m, size)
		}
		seq := int(buf[0])<<8 | int(buf[1])
		if seq <= last {
			t.Fatalf("datagram %d after %d: out of order", seq, last)
		}
		last = seq
		if got == 0 {
			first = time.Now()
		}
		got++
		end = time.Now()
	}
	passed, _, dropped := s.counts()
	t.Logf("%d passed, %d dropped", passed, dropped)
	if got < 10 || got > 40 {
		t.Errorf("passed %d datagrams of a burst of %d, want the buffer's worth (about 20)", got, n)
	}
	if got > 1 {
		kbit := float64((got-1)*(size+wireOverhead)) * 8 / end.Sub(first).Seconds() / 1000
		if kbit < 0.8*kbps || kbit > 1.2*kbps {
			t.Errorf("line rate %.0f kbit/s, want about %d", kbit, kbps)
		}
	}
}

func TestJoinStepTimes(t *testing.T) {
	start := time.Unix(100, 0)
	at := func(ms int) int64 { return start.Add(time.Duration(ms) * time.Millisecond).UnixNano() }
	p := &rtcPeer{joinStart: start}
	for i, ms := range []int{5, 105, 125} { // dialled, offer, answer; ICE not yet
		p.steps[i].Store(at(ms))
	}
	if _, ok := p.stepTimes(); ok {
		t.Fatal("steps of a participant not yet connected: got ok, want not ok")
	}
	p.steps[stepICE].Store(at(425))
	p.connected.Store(at(1425))
	got, ok := p.stepTimes()
	want := [numJoinSteps + 1]time.Duration{5 * time.Millisecond, 100 * time.Millisecond, 20 * time.Millisecond,
		300 * time.Millisecond, time.Second}
	if !ok || got != want {
		t.Errorf("step times: got %v (ok %v), want %v", got, ok, want)
	}
	var b strings.Builder
	r := &WebRTCReport{joins: []time.Duration{1425 * time.Millisecond}}
	for i := range got {
		r.steps[i] = []time.Duration{got[i]}
	}
	r.Write(&b)
	if !strings.Contains(b.String(), "server's first offer 100ms/100ms") || !strings.Contains(b.String(), "DTLS 1s/1s") {
		t.Errorf("report lacks the join steps:\n%s", b.String())
	}
}

func TestCappedOnlyConfig(t *testing.T) {
	c := WebRTCConfig{URL: "ws://127.0.0.1:8080/ws", Room: "demo", Participants: 2, BWCapKbps: 1000, CappedOnly: true}
	if err := c.check(); err != nil {
		t.Fatal(err)
	}
	if c.Capped != 2 || !c.capped(0) || !c.capped(1) {
		t.Errorf("capped-only: got Capped %d, want every participant capped", c.Capped)
	}
	if c.Tiles != 256 {
		t.Errorf("capped-only: got %d tiles by default, want 256 (everyone the other run brings)", c.Tiles)
	}
	for n := range 12 {
		if c.mouth(n) || c.ear(n) {
			t.Errorf("capped-only participant %d: mouth %v, ear %v; want neither", n, c.mouth(n), c.ear(n))
		}
		if got := c.name(n); got == speakerName || !strings.HasPrefix(got, "capped ") {
			t.Errorf("capped-only participant %d: named %q, want \"capped N\"", n, got)
		}
	}
	if c.sourceIndex(0) < MaxWebRTC {
		t.Errorf("capped-only source index %d: want past every address of the run that fills the room", c.sourceIndex(0))
	}
	full := WebRTCConfig{URL: "ws://127.0.0.1:8080/ws", Room: "demo", Participants: 20}
	if err := full.check(); err != nil {
		t.Fatal(err)
	}
	if !full.mouth(0) || !full.ear(1) || full.ear(11) || full.name(0) != speakerName || full.sourceIndex(3) != 3 {
		t.Errorf("a filling run: roles or names changed: mouth(0) %v, ear(1) %v, ear(11) %v, name(0) %q",
			full.mouth(0), full.ear(1), full.ear(11), full.name(0))
	}
	for _, bad := range []WebRTCConfig{
		{URL: "ws://127.0.0.1:8080/ws", Room: "demo", Participants: 1, CappedOnly: true},
		{URL: "ws://127.0.0.1:8080/ws", Room: "demo", Participants: 1, CappedOnly: true, BWCapKbps: 1000, ServerPID: 1},
	} {
		if err := bad.check(); err == nil {
			t.Errorf("%+v: got no error", bad)
		}
	}
}

// A paused simulcast layer skips its frames but keeps its keyframe
// schedule, so that it resumes as if it had sent them.
func TestVP8SourceSkipKeepsSchedule(t *testing.T) {
	sent, paused := newVP8Source(1, referenceVideoKbps, 640, 360), newVP8Source(1, referenceVideoKbps, 640, 360)
	for i := 0; i < keyframeEvery+5; i++ {
		_, want := sent.next()
		var got bool
		if i%2 == 0 {
			got = paused.skip()
		} else {
			var f []byte
			f, got = paused.next()
			if vp8IsKeyframe(f) != got {
				t.Fatalf("frame %d: keyframe %v, header says %v", i, got, vp8IsKeyframe(f))
			}
		}
		if got != want {
			t.Fatalf("frame %d: keyframe %v after skips, want %v", i, got, want)
		}
	}
}
