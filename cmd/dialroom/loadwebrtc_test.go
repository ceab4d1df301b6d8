package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"dialroom/dialplan"
	"dialroom/loadtest"
	"dialroom/sfu"
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
