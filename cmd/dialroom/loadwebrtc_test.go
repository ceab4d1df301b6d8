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

// The WebRTC load tool joins a real SFU over real signalling, and everyone
// receives everyone's audio and video.
func TestLoadWebRTCAgainstServer(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	tr, err := sfu.NewTransport(sfu.TransportConfig{UDPListen: "127.0.0.1:0"}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	// IgnoreBandwidth: this tests the load tool, not the allocator; on a
	// busy machine the estimate would pause video and hide what it counts.
	mgr, err := sfu.NewManager(sfu.Config{ICEIPs: []string{"127.0.0.1"}, Transport: tr, IgnoreBandwidth: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.New(web.Config{}, oneRoom{}, mgr, log))
	defer func() {
		srv.Close()
		_ = mgr.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := loadtest.RunWebRTC(ctx, loadtest.WebRTCConfig{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws",
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
	tr, err := sfu.NewTransport(sfu.TransportConfig{UDPListen: "127.0.0.1:0"}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	rooms, err := sfu.NewManager(sfu.Config{ICEIPs: []string{"127.0.0.1"}, Transport: tr, IgnoreBandwidth: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer rooms.Close()
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
