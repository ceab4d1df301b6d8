package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"dialroom/loadtest"
)

const loadUsage = `dialroom load -number NUMBER [-pin DIGITS] [-sip ADDR] [-calls N] [-rate N] [-duration D] [-signal noise|speech|tone] [-codec pcmu|g722] [-pid PID] [-join-wait D] [-jitter D] [-cpuprofile FILE]

Calls a running dialroom server on this machine with N phone callers (SIP and
RTP from this process, G.711 µ-law or with -codec g722 wideband G.722, the PIN
typed as RFC 4733 events), measures for
-duration once everyone is in, hangs up and prints: call setup time, packet
loss and jitter of what the callers receive, the mouth-to-ear delay through
the bridge, and, with -pid, the server's CPU and memory from /proc.

Delay: caller 0 (the phone mouth) sends a 200 ms 1 kHz burst every second;
with -webrtc, participant 0 (the browser mouth) sends 2 kHz bursts in real
Opus half a second later, its audio level header giving each frame's real
level. Every other caller, and WebRTC participants 1 to 10 (they decode
every audio track they receive, about 25 µs of CPU per track and 20 ms
frame), time the onsets of both. The report ends with median and p95 per
direction, phone->phone, phone->browser, browser->phone and
browser->browser, from the send time of the packet with the burst's start
to the arrival of the packet with its onset (plus the offsets in them): the
network and the bridge, including the Opus encoders' lookahead, not the
callers' own jitter buffers. A direction without a mouth or ears says "no
onsets". A mouth reaches the others only while the server counts it among
the loudest talkers, so the first burst may come late or not at all.

-jitter D delays each packet to the server by a random 0..D, like a jittery
network (loopback has none). Only loopback addresses are accepted. At most 5000 calls and one hour.
The server needs 2 RTP ports per call (sip.rtp_port_min/max).
-cpuprofile FILE profiles the load tool itself (go tool pprof FILE).
` + loadWebRTCUsage

func runLoad(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	sipAddr := fs.String("sip", "127.0.0.1:5060", "the server's SIP address (UDP, loopback)")
	number := fs.String("number", "", "the room's phone number")
	pin := fs.String("pin", "", "the room's PIN")
	calls := fs.Int("calls", 10, "phone callers")
	rate := fs.Float64("rate", 20, "new calls per second")
	dur := fs.Duration("duration", 30*time.Second, "measured time once everyone is in")
	sig := fs.String("signal", "noise", "what listeners send: noise, speech or tone")
	codec := fs.String("codec", "pcmu", "what the callers offer and send: pcmu or g722")
	pid := fs.Int("pid", 0, "the server's process ID, for CPU and memory")
	jitter := fs.Duration("jitter", 0, "emulated network jitter: each packet to the server waits a random 0..D")
	joinWait := fs.Duration("join-wait", 2*time.Second, "after the PIN (or the answer), before a caller counts as in the room")
	cpuProfile := fs.String("cpuprofile", "", "write the load tool's own CPU profile to this file (go tool pprof)")
	var rtc webrtcLoadFlags
	rtc.register(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	if *number == "" && rtc.n == 0 {
		return usagef("load: -number is required, or -webrtc N (see dialroom load -h)")
	}
	if *number != "" && rtc.onlyCap {
		return usagef("load: -capped-only joins WebRTC participants only: no -number")
	}
	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	// One marker clock for both runs: the phone and the browser mouth, and
	// the delay in every direction at the end.
	marks := loadtest.NewMarkers()
	if *number == "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err := runWebRTCLoad(ctx, rtc, *dur, *pid, marks, stdout, stderr)
		if !rtc.onlyCap {
			writeDelays(stdout, marks) // a capped-only run has no mouth and no ears
		}
		return err
	}
	addr, err := net.ResolveUDPAddr("udp", *sipAddr)
	if err != nil || !addr.IP.IsLoopback() {
		return usagef("load: -sip %q: want a loopback host:port", *sipAddr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rtcDone := make(chan error, 1)
	var rtcOut bytes.Buffer
	go func() {
		if rtc.n == 0 {
			rtcDone <- nil
			return
		}
		rtcDone <- runWebRTCLoad(ctx, rtc, *dur, *pid, marks, &rtcOut, stderr)
	}()
	rep, err := loadtest.Run(ctx, loadtest.Config{
		Server: addr, Number: *number, PIN: *pin, Calls: *calls, Rate: *rate,
		Duration: *dur, Signal: *sig, Codec: *codec, ServerPID: *pid, JoinWait: *joinWait, Jitter: *jitter,
		Markers: marks,
		Log:     slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if rep != nil {
		rep.Write(stdout)
	}
	rtcErr := <-rtcDone
	_, _ = rtcOut.WriteTo(stdout)
	writeDelays(stdout, marks)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	return rtcErr
}

// startCPUProfile profiles this process into file until stop is called.
func startCPUProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("load: -cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("load: -cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// writeDelays prints the mouth-to-ear delay of every direction, measured
// by the phone and WebRTC runs together.
func writeDelays(w io.Writer, marks *loadtest.Markers) {
	fmt.Fprintln(w, "mouth-to-ear delay (marker bursts: phone caller 0 at 1 kHz, WebRTC participant 0 at 2 kHz, half a second apart):")
	marks.Write(w)
}
