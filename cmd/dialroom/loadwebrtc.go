package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"dialroom/loadtest"
)

const loadWebRTCUsage = `
WebRTC participants (-webrtc N, with or without phone callers): each joins
-room over the server's WebSocket signalling (-ws), publishes Opus (20 ms
silence frames; participant 0 is the browser mouth, see Delay above) and
with -video a synthetic VP8 camera at 30 frames/s (keyframe every 3 s; -video-kbps sets the mean rate, 1050 = 20-60 KB
keyframes and 2-6 KB deltas; three layers q/h/f when the server asks for
simulcast), asks for the video of -tiles others at -tile-size, and reports the bitrate each subscriber receives
(median/p95), packet loss, and with -pid the server's CPU per forwarded
stream. At most 200 participants and 10 minutes. -speaker makes participant 0
also hum between its bursts (440 Hz, about -28 dBov) and puts it first in
every view (at -main-size when given). -bw-cap KBPS sends what the server sends the last -capped participants through a
line of that rate (250 ms buffer, overflow dropped) and reports what each
of them receives: bitrate, loss, the speaker's layer over time, and how
late the tool itself delivered the line's packets; -capped 0 caps nobody.

The line is emulated in this process, so when the machine's CPU is full
it delivers packets late and the server sees that as queueing delay. To measure
the server rather than the tool, run the capped subscribers in a process of
their own with -capped-only: it joins -webrtc K participants, every one
behind -bw-cap, into the room another dialroom load fills (no -number, no
-pid). They are named "capped N", publish like the others, are neither the
mouth, an ear nor the speaker, see -tiles/-tile-size/-main-size like
everyone and put the other run's participant 0 first with -speaker; the
report has the same lines per capped subscriber. Both runs measure once
no one has joined for 3 s; give the filling run the longer -duration and
start it under nice, e.g. for 100 participants, one at 1 Mbit/s:
  nice -n 10 dialroom load -webrtc 99 -video -tiles 25 -tile-size 320x180 -speaker -main-size 1280x720 -duration 70s -pid PID ... &
  dialroom load -webrtc 1 -capped-only -bw-cap 1000 -video -tiles 25 -tile-size 320x180 -speaker -main-size 1280x720 -duration 60s ...
`

// webrtcLoadFlags are dialroom load's flags for WebRTC participants.
type webrtcLoadFlags struct {
	n        int
	ws, room string
	video    bool
	tiles    int
	tileSize string
	kbps     int
	rate     float64
	settle   time.Duration
	speaker  bool
	mainSize string
	bwCap    int
	capped   int
	onlyCap  bool
}

func (f *webrtcLoadFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.n, "webrtc", 0, "WebRTC participants (pion, loopback)")
	fs.StringVar(&f.ws, "ws", "ws://127.0.0.1:8080/ws", "the server's signalling WebSocket (loopback)")
	fs.StringVar(&f.room, "room", "demo", "the room WebRTC participants join (slug)")
	fs.BoolVar(&f.video, "video", false, "WebRTC participants publish a synthetic VP8 camera")
	fs.IntVar(&f.tiles, "tiles", 0, "video tiles each participant asks for (default everyone else)")
	fs.StringVar(&f.tileSize, "tile-size", "640x360", "size of each tile, WxH in device pixels")
	fs.IntVar(&f.kbps, "video-kbps", 0, "mean camera bitrate, all layers (default 1050)")
	fs.Float64Var(&f.rate, "webrtc-rate", 5, "WebRTC joins per second")
	fs.BoolVar(&f.speaker, "speaker", false, "participant 0 speaks and comes first in every view")
	fs.StringVar(&f.mainSize, "main-size", "", "size of the speaker's tile, WxH (default -tile-size)")
	fs.IntVar(&f.bwCap, "bw-cap", 0, "cap the downlink of the last -capped participants at this many kbit/s")
	fs.IntVar(&f.capped, "capped", 1, "how many participants -bw-cap applies to (0 = none)")
	fs.BoolVar(&f.onlyCap, "capped-only", false, "join only -webrtc N capped participants (-bw-cap) into a room another dialroom load fills")
	fs.DurationVar(&f.settle, "settle", 30*time.Second, "after the last join, how long to wait for every track before measuring")
}

// lines returns how many participants are capped and at what rate (both 0
// for none): -bw-cap 0 or -capped 0 caps nobody, -capped-only caps all.
func (f *webrtcLoadFlags) lines(pid int) (capped, kbps int, err error) {
	if f.bwCap < 0 || f.capped < 0 {
		return 0, 0, usagef("load: -bw-cap and -capped must not be negative")
	}
	capped, kbps = f.capped, f.bwCap
	if f.onlyCap {
		if kbps == 0 {
			return 0, 0, usagef("load: -capped-only needs -bw-cap")
		}
		if pid != 0 {
			return 0, 0, usagef("load: -capped-only does not measure the server: give -pid to the run that fills the room")
		}
		capped = f.n
	}
	if kbps == 0 || capped == 0 {
		return 0, 0, nil
	}
	return capped, kbps, nil
}

// runWebRTCLoad runs the WebRTC participants and prints their report.
func runWebRTCLoad(ctx context.Context, f webrtcLoadFlags, dur time.Duration, pid int, marks *loadtest.Markers, stdout, stderr io.Writer) error {
	var w, h int
	if _, err := fmt.Sscanf(f.tileSize, "%dx%d", &w, &h); err != nil || w <= 0 || h <= 0 {
		return usagef("load: -tile-size %q: want WxH, e.g. 640x360", f.tileSize)
	}
	var mw, mh int
	if f.mainSize != "" {
		if _, err := fmt.Sscanf(f.mainSize, "%dx%d", &mw, &mh); err != nil || mw <= 0 || mh <= 0 {
			return usagef("load: -main-size %q: want WxH, e.g. 1280x720", f.mainSize)
		}
	}
	capped, bwCap, err := f.lines(pid)
	if err != nil {
		return err
	}
	rep, err := loadtest.RunWebRTC(ctx, loadtest.WebRTCConfig{
		URL: f.ws, Room: f.room, Participants: f.n, Video: f.video, VideoKbps: f.kbps,
		Tiles: f.tiles, TileWidth: w, TileHeight: h, Rate: f.rate, Settle: f.settle, Duration: dur, ServerPID: pid,
		Speaker: f.speaker, MainWidth: mw, MainHeight: mh, BWCapKbps: bwCap, Capped: capped, CappedOnly: f.onlyCap, Markers: marks,
		Log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if rep != nil {
		rep.Write(stdout)
	}
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	return nil
}
