package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"dialroom/dialplan"
	"dialroom/loadtest"
	"dialroom/mixer"
	"dialroom/prompts"
	"dialroom/sfu"
	"dialroom/sip"
	"dialroom/web"
)

func TestLoadWebRTCRefusesBadArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"load", "-webrtc", "201"}, "participants 201"},
		{[]string{"load", "-webrtc", "2", "-ws", "ws://192.0.2.1:8080/ws"}, "must be loopback"},
		{[]string{"load", "-webrtc", "2", "-tile-size", "big"}, "-tile-size"},
		{[]string{"load", "-webrtc", "2", "-duration", "11m"}, "duration"},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		if code == exitOK || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: got exit %d, %q; want an error containing %q", tc.args, code, errb.String(), tc.want)
		}
	}
}

// oneRoom is a web.RoomLookup with the room "load" only.
type oneRoom struct{}

func (oneRoom) RoomBySlug(_ context.Context, slug string) (dialplan.Room, error) {
	if slug != "load" {
		return dialplan.Room{}, dialplan.ErrNotFound
	}
	return dialplan.Room{ID: 1, Slug: "load", Name: "Load"}, nil
}

// loadSFU starts an SFU on a loopback transport, closed when the test
// ends. IgnoreBandwidth: these tests measure the load tool, not the
// allocator; on a busy machine the estimate would pause video and hide what
// the tool counts (the layers then follow the tile sizes only).
func loadSFU(t *testing.T) *sfu.Manager {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	tr, err := sfu.NewTransport(sfu.TransportConfig{UDPListen: "127.0.0.1:0"}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	mgr, err := sfu.NewManager(sfu.Config{ICEIPs: []string{"127.0.0.1"}, Transport: tr, IgnoreBandwidth: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mgr.Close() })
	return mgr
}

// loadServer serves the signalling of room "load" (oneRoom) on a new SFU
// and returns its WebSocket URL.
func loadServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(web.New(web.Config{}, oneRoom{}, loadSFU(t), slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

// The WebRTC load tool joins a real SFU over real signalling, and everyone
// receives everyone's audio and video.
func TestLoadWebRTCAgainstServer(t *testing.T) {
	ws := loadServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := loadtest.RunWebRTC(ctx, loadtest.WebRTCConfig{URL: ws,
		Room: "load", Participants: 3, Video: true, VideoKbps: 300, Duration: 3 * time.Second, Rate: 20})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Write(&out)
	text := out.String()
	if rep.Joined != 3 || rep.Failed != 0 {
		t.Fatalf("got %d joined, %d failed, want 3 and 0:\n%s", rep.Joined, rep.Failed, text)
	}
	if !strings.Contains(text, "streams:      6 audio + 6 video") {
		t.Errorf("want every participant to receive the 2 others' audio and video:\n%s", text)
	}
}

// The combined load run against a whole server in this process (SIP,
// mixer, SFU, signalling, as serve wires them): phone callers and WebRTC
// participants in one room, and the delay report has all four directions
// with onsets and plausible delays.
func TestLoadCombinedMeasuresEveryDirection(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	store, err := dialplan.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.AddRoom(ctx, "load", "Load", "582917", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddNumber(ctx, "+4930999000", "load"); err != nil {
		t.Fatal(err)
	}
	set, err := prompts.LoadWithOverrides("")
	if err != nil {
		t.Fatal(err)
	}
	rooms := loadSFU(t)
	mix := mixer.NewWith(sfuAdapter{rooms}, mixer.Config{Talkers: 3, AudioLevelID: sfu.AudioLevelID}, log)
	defer mix.Close()
	phones, err := sip.New(sip.Config{Listen: "127.0.0.1:0", RTPPortMin: 30000, RTPPortMax: 39999},
		store, bridgeAdapter{m: mix, rooms: rooms}, set, log)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- phones.Serve(ctx) }()
	defer func() {
		_ = phones.Close()
		<-served
	}()
	srv := httptest.NewServer(web.New(web.Config{}, store, rooms, log))
	defer srv.Close()

	var out, errb bytes.Buffer
	code := run([]string{"load", "-sip", phones.UDPAddr().String(), "-number", "+4930999000", "-pin", "582917",
		"-calls", "3", "-join-wait", "3s", "-webrtc", "3", "-webrtc-rate", "20", "-settle", "10s",
		"-ws", "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws", "-room", "load", "-duration", "6s"}, &out, &errb)
	text := out.String()
	if code != exitOK {
		t.Fatalf("load: exit %d: %s\n%s", code, errb.String(), text)
	}
	t.Logf("report:\n%s", text)
	line := regexp.MustCompile(`(?m)^(\S+->\S+): +mouth-to-ear median (\S+), p95 (\S+) \((\d+) onsets`)
	seen := map[string]bool{}
	for _, m := range line.FindAllStringSubmatch(text, -1) {
		seen[m[1]] = true
		p50, err1 := time.ParseDuration(m[2])
		p95, err2 := time.ParseDuration(m[3])
		n, _ := strconv.Atoi(m[4])
		if err1 != nil || err2 != nil || n == 0 || p50 <= 0 || p95 < p50 || p95 >= time.Second {
			t.Errorf("%s: median %s, p95 %s over %s onsets; want onsets and 0 < delay < 1s", m[1], m[2], m[3], m[4])
		}
	}
	for _, dir := range []string{"phone->phone", "phone->browser", "browser->phone", "browser->browser"} {
		if !seen[dir] {
			t.Errorf("no delay measured %s", dir)
		}
	}
}

func TestLoadWebRTCLines(t *testing.T) {
	for _, tc := range []struct {
		name            string
		f               webrtcLoadFlags
		pid             int
		capped, kbps    int
		wantErrContains string
	}{
		{"default: no cap", webrtcLoadFlags{n: 10, capped: 1}, 0, 0, 0, ""},
		{"last one capped", webrtcLoadFlags{n: 10, capped: 1, bwCap: 1000}, 0, 1, 1000, ""},
		{"-capped 0 caps nobody", webrtcLoadFlags{n: 10, capped: 0, bwCap: 1000}, 0, 0, 0, ""},
		{"-capped-only caps all", webrtcLoadFlags{n: 3, capped: 1, bwCap: 500, onlyCap: true}, 0, 3, 500, ""},
		{"-capped-only ignores -capped 0", webrtcLoadFlags{n: 2, capped: 0, bwCap: 500, onlyCap: true}, 0, 2, 500, ""},
		{"-capped-only without a cap", webrtcLoadFlags{n: 1, capped: 1, onlyCap: true}, 0, 0, 0, "needs -bw-cap"},
		{"-capped-only with -pid", webrtcLoadFlags{n: 1, capped: 1, bwCap: 1000, onlyCap: true}, 42, 0, 0, "-pid"},
		{"negative", webrtcLoadFlags{n: 1, capped: -1, bwCap: 1000}, 0, 0, 0, "negative"},
	} {
		capped, kbps, err := tc.f.lines(tc.pid)
		switch {
		case tc.wantErrContains != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErrContains) {
				t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.wantErrContains)
			}
		case err != nil:
			t.Errorf("%s: got %v, want no error", tc.name, err)
		case capped != tc.capped || kbps != tc.kbps:
			t.Errorf("%s: got %d capped at %d kbit/s, want %d at %d", tc.name, capped, kbps, tc.capped, tc.kbps)
		}
	}
}

func TestLoadCappedOnlyRefusesPhoneCalls(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"load", "-number", "+4930999000", "-webrtc", "1", "-capped-only", "-bw-cap", "1000"}, &out, &errb)
	if code == exitOK || !strings.Contains(errb.String(), "no -number") {
		t.Errorf("got exit %d, %q; want an error about -number", code, errb.String())
	}
}

// Two load runs in one process share a room on a real SFU: one fills it
// (with the speaker), the other adds only a capped subscriber, whose
// report gives what it received through its line and the speaker's layer.
func TestLoadCappedOnlyBesideAnotherRun(t *testing.T) {
	ws := loadServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	type result struct {
		rep *loadtest.WebRTCReport
		err error
	}
	filled := make(chan result, 1)
	go func() {
		rep, err := loadtest.RunWebRTC(ctx, loadtest.WebRTCConfig{URL: ws, Room: "load", Participants: 3, Video: true,
			VideoKbps: 300, Speaker: true, MainWidth: 1280, MainHeight: 720, TileWidth: 320, TileHeight: 180,
			Duration: 8 * time.Second, Rate: 20, Settle: 20 * time.Second})
		filled <- result{rep, err}
	}()
	var out, errb bytes.Buffer
	code := run([]string{"load", "-webrtc", "1", "-capped-only", "-bw-cap", "2000", "-video", "-video-kbps", "300",
		"-speaker", "-tile-size", "320x180", "-main-size", "1280x720", "-settle", "20s",
		"-ws", ws, "-room", "load", "-duration", "4s"}, &out, &errb)
	text := out.String()
	t.Logf("capped-only run:\n%s", text)
	if code != exitOK {
		t.Fatalf("capped-only run: exit %d: %s", code, errb.String())
	}
	r := <-filled
	if r.err != nil {
		t.Fatalf("the run that fills the room: %v", r.err)
	}
	var main bytes.Buffer
	r.rep.Write(&main)
	t.Logf("the run that fills the room:\n%s", main.String())
	if r.rep.Joined != 3 {
		t.Errorf("the run that fills the room: %d joined, want 3", r.rep.Joined)
	}
	if !strings.Contains(text, "1 joined, 0 failed") {
		t.Errorf("capped-only run: want its one participant joined")
	}
	if strings.Contains(text, "mouth-to-ear") {
		t.Errorf("capped-only run: has no mouth and no ears, want no delay lines")
	}
	line := regexp.MustCompile(`(?m)^capped 0: +line 2000 kbit/s: received (\d+) kbit/s \(video (\d+), audio (\d+)\); (\d+) audio \+ (\d+) video streams`)
	m := line.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("capped-only run: no line for its capped subscriber")
	}
	video, _ := strconv.Atoi(m[2])
	audio, _ := strconv.Atoi(m[3])
	audioStreams, _ := strconv.Atoi(m[4])
	videoStreams, _ := strconv.Atoi(m[5])
	if video == 0 || audio == 0 || audioStreams == 0 || videoStreams != 3 {
		t.Errorf("capped 0 received video %d and audio %d kbit/s, %d audio and %d video streams; want both, "+
			"and the video of the 3 others", video, audio, audioStreams, videoStreams)
	}
	// The speaker ("load 0" of the other run) was found and shown: its
	// layer is known for some of the window.
	sp := regexp.MustCompile(`speaker's video layer over the window \(from layers messages\): ([^;]*);`).FindStringSubmatch(text)
	if sp == nil || !regexp.MustCompile(`\b[qhf] \d+ %`).MatchString(sp[1]) {
		t.Errorf("capped-only run: want the speaker's layer over the window, got %q", sp)
	}
}
