package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"sync"
	"time"
)

// Limits of a WebRTC run: every participant is a full pion PeerConnection in
// this process, on the same machine as the server.
const (
	MaxWebRTC         = 200
	MaxWebRTCDuration = 10 * time.Minute
)

// WebRTCConfig describes a run of browser-like WebRTC participants: each
// joins the room over the server's WebSocket signalling, publishes Opus (20
// ms silence frames) and optionally synthetic VP8 at 30 frames/s, and
// subscribes to everything the server sends.
type WebRTCConfig struct {
	URL          string // the server's signalling WebSocket, ws://127.0.0.1:8080/ws; must be loopback
	Room         string // room slug
	Participants int    // 1..MaxWebRTC
	Video        bool   // publish a camera
	VideoKbps    int    // the camera's mean bitrate (default 1050: 20-60 KB keyframes every 3 s, 2-6 KB deltas); with simulcast that of the full layer, the others get 1/3 and 1/10
	Tiles        int    // video tiles each subscriber asks for (default every other participant, at most 256)
	TileWidth    int    // size of each tile in device pixels (default 640x360)
	TileHeight   int
	// Speaker makes participant 0 speak (its audio level header says -25
	// dBov, everyone else's silence) and puts it first in everyone's view,
	// at MainWidth x MainHeight when set, as the browser shows the speaker
	// in the main tile.
	Speaker               bool
	MainWidth, MainHeight int
	// BWCapKbps caps the downlink of the last Capped participants (default
	// 1 when BWCapKbps is set): what the server sends them passes a line of
	// this rate with a 250 ms buffer that drops what overflows. 0 = no cap.
	BWCapKbps int
	Capped    int
	// CappedOnly makes every participant of this run capped (Capped is
	// then Participants): a run that only adds thin-line subscribers to a
	// room another run (another process, which the operating system can
	// schedule apart) fills. Its participants are named "capped N", not
	// "load N", publish like the others, and none of them is the mouth,
	// an ear or the speaker; with Speaker they still put the other run's
	// speaker ("load 0") first in their view.
	CappedOnly bool
	Rate       float64       // joins per second (default 5)
	Settle     time.Duration // after the last join, at most this long for every track to arrive (default 30 s)
	Duration   time.Duration // measured window (default 30 s)
	ServerPID  int           // for CPU and memory from /proc; 0 = none
	// Markers is the marker clock shared with a phone run (NewMarkers),
	// which then reports every delay direction; nil = the run's own, and
	// its report gives browser->browser. Participant 0 is the browser
	// mouth (2 kHz Opus bursts during the measured window), participants
	// 1..10 are ears: they decode every audio track they receive.
	Markers *Markers
	Log     *slog.Logger

	ownMarkers bool
}

func (c *WebRTCConfig) check() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") {
		return fmt.Errorf("loadtest: url %q: want ws://host:port/ws", c.URL)
	}
	ip := net.ParseIP(u.Hostname())
	if u.Hostname() == "localhost" {
		ip = net.IPv4(127, 0, 0, 1)
	}
	if ip == nil || !ip.IsLoopback() {
		return errors.New("loadtest: the server address must be loopback (127.0.0.0/8, ::1 or localhost)")
	}
	if c.Room == "" {
		return errors.New("loadtest: no room")
	}
	if c.Participants < 1 || c.Participants > MaxWebRTC {
		return fmt.Errorf("loadtest: webrtc participants %d: want 1..%d", c.Participants, MaxWebRTC)
	}
	if c.Duration == 0 {
		c.Duration = 30 * time.Second
	}
	if c.Duration < 0 || c.Duration > MaxWebRTCDuration {
		return fmt.Errorf("loadtest: duration %v: want up to %v", c.Duration, MaxWebRTCDuration)
	}
	if c.VideoKbps == 0 {
		c.VideoKbps = referenceVideoKbps
	}
	if c.VideoKbps < 10 || c.VideoKbps > 20000 {
		return fmt.Errorf("loadtest: video kbps %d: want 10..20000", c.VideoKbps)
	}
	if c.Rate <= 0 {
		c.Rate = 5
	}
	if c.Tiles <= 0 || c.Tiles > 256 {
		c.Tiles = min(c.Participants-1, 256)
		if c.CappedOnly {
			c.Tiles = 256 // everyone the other run brings
		}
	}
	if c.TileWidth <= 0 || c.TileHeight <= 0 {
		c.TileWidth, c.TileHeight = 640, 360
	}
	if c.BWCapKbps < 0 || c.BWCapKbps > 1_000_000 {
		return fmt.Errorf("loadtest: bandwidth cap %d kbit/s: want 0..1000000", c.BWCapKbps)
	}
	if c.CappedOnly {
		if c.BWCapKbps == 0 {
			return errors.New("loadtest: a capped-only run needs a bandwidth cap")
		}
		if c.ServerPID > 0 {
			return errors.New("loadtest: a capped-only run does not measure the server: give its PID to the run that fills the room")
		}
		c.Capped = c.Participants
	}
	if c.BWCapKbps > 0 && c.Capped <= 0 {
		c.Capped = 1
	}
	if c.Capped > c.Participants {
		return fmt.Errorf("loadtest: %d capped participants of %d", c.Capped, c.Participants)
	}
	if (c.MainWidth == 0) != (c.MainHeight == 0) || c.MainWidth < 0 || c.MainHeight < 0 {
		return fmt.Errorf("loadtest: main tile %dx%d: want both sizes or neither", c.MainWidth, c.MainHeight)
	}
	if c.Settle <= 0 {
		c.Settle = 30 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Markers == nil {
		c.Markers, c.ownMarkers = NewMarkers(), true
	}
	return nil
}

// capped reports whether participant n's downlink is capped: the last
// Capped participants are.
func (c *WebRTCConfig) capped(n int) bool {
	return c.BWCapKbps > 0 && n >= c.Participants-c.Capped
}

// mouth reports whether participant n is the browser mouth (and with
// Speaker the speaker): participant 0 of a run that is not capped-only.
func (c *WebRTCConfig) mouth(n int) bool { return n == 0 && !c.CappedOnly }

// ear reports whether participant n decodes what it receives and times the
// mouths' onsets: the marker clock is this process's, so a capped-only run,
// which has no mouth, has no ears either.
func (c *WebRTCConfig) ear(n int) bool { return isEar(n) && !c.CappedOnly }

// name is participant n's display name; the two kinds of run use different
// names so that they can share a room.
func (c *WebRTCConfig) name(n int) string {
	if c.CappedOnly {
		return fmt.Sprintf("capped %d", n)
	}
	return fmt.Sprintf("load %d", n)
}

// sourceIndex numbers participant n's source address (wsDialer): a
// capped-only run takes the next block of 250, so that its participants do
// not share addresses with those of the run that fills the room.
func (c *WebRTCConfig) sourceIndex(n int) int {
	if c.CappedOnly {
		return 250 + n
	}
	return n
}

// WebRTCReport is what one WebRTC run measured.
type WebRTCReport struct {
	Config     WebRTCConfig
	Joined     int
	Failed     int
	FirstError string
	Settled    bool // every subscriber had every track before the window

	joins                        []time.Duration                   // WebSocket join to PeerConnection connected
	steps                        [numJoinSteps + 1][]time.Duration // each step of the joins, see joinSteps
	sentStart, sentEnd           []uint64                          // VP8 bytes sent per layer, all publishers together
	totals                       []rtcTotals
	capped                       []cappedReport
	procIdle, procStart, procEnd procSample
	selfStart, selfEnd           procSample
	start, end                   time.Time
}

// RunWebRTC joins the participants, waits until every subscriber receives
// every track (or Settle passes), measures for Duration, leaves and reports.
// It stops early, with what it measured, when ctx ends.
func RunWebRTC(ctx context.Context, cfg WebRTCConfig) (*WebRTCReport, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	rep := &WebRTCReport{Config: cfg}
	if cfg.ServerPID > 0 {
		s, err := readProc(cfg.ServerPID)
		if err != nil {
			return nil, err
		}
		rep.procIdle = s
	}
	peers := joinAllRTC(ctx, &cfg, rep)
	defer closeAllRTC(peers)
	if len(peers) == 0 {
		return rep, errors.New("loadtest: no participant joined")
	}
	rep.Settled = settle(ctx, cfg, peers)
	for _, p := range peers {
		if c := p.connected.Load(); c != 0 {
			rep.joins = append(rep.joins, time.Unix(0, c).Sub(p.joinStart))
		}
		if d, ok := p.stepTimes(); ok {
			for i := range d {
				rep.steps[i] = append(rep.steps[i], d[i])
			}
		}
	}
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	for _, p := range peers {
		p.resetStats()
	}
	if cfg.ServerPID > 0 {
		rep.procStart, _ = readProc(cfg.ServerPID)
	}
	rep.selfStart, _ = readProc(os.Getpid())
	rep.sentStart = sentVideo(peers)
	rep.start = time.Now()
	listen(cfg, peers, true)
	select {
	case <-ctx.Done():
	case <-time.After(cfg.Duration):
	}
	rep.end = time.Now()
	listen(cfg, peers, false)
	rep.sentEnd = sentVideo(peers)
	rep.selfEnd, _ = readProc(os.Getpid())
	if cfg.ServerPID > 0 {
		rep.procEnd, _ = readProc(cfg.ServerPID)
	}
	for _, p := range peers {
		rep.totals = append(rep.totals, p.totals())
		if p.sc != nil {
			rep.capped = append(rep.capped, p.cappedReport(rep.start, rep.end))
		}
	}
	return rep, nil
}

// listen starts (on) or ends the marker measurement: the ears' onset
// detection, then the mouth's bursts, and the other way round at the end.
func listen(cfg WebRTCConfig, peers []*rtcPeer, on bool) {
	if !on {
		setBursts(peers, false)
	}
	now := time.Now()
	for _, p := range peers {
		if !cfg.ear(p.n) {
			continue
		}
		if on {
			p.ear.Store(cfg.Markers.ear(true))
		} else if e := p.ear.Swap(nil); e != nil {
			e.stop(now)
		}
	}
	if on {
		setBursts(peers, true)
	}
}

// setBursts switches the browser mouth's bursts on or off.
func setBursts(peers []*rtcPeer, on bool) {
	for _, p := range peers {
		if p.cfg.mouth(p.n) {
			p.bursts.Store(on)
		}
	}
}

// sentVideo sums the VP8 bytes sent per layer over all participants.
func sentVideo(peers []*rtcPeer) []uint64 {
	var sum []uint64
	for _, p := range peers {
		for i, b := range p.sentVideo() {
			if i >= len(sum) {
				sum = append(sum, make([]uint64, i+1-len(sum))...)
			}
			sum[i] += b
		}
	}
	return sum
}

// joinAllRTC joins the participants at cfg.Rate and returns those that got
// their first offer answered.
func joinAllRTC(ctx context.Context, cfg *WebRTCConfig, rep *WebRTCReport) []*rtcPeer {
	var peers []*rtcPeer
	startPaced(ctx, cfg.Participants, cfg.Rate, func(i int) (*rtcPeer, error) { return joinRTC(ctx, cfg, i) },
		func(p *rtcPeer, err error) {
			if err != nil {
				failed(&rep.Failed, &rep.FirstError, err)
				cfg.Log.Warn("join", "err", err)
				return
			}
			peers = append(peers, p)
		})
	rep.Joined = len(peers)
	return peers
}

// settle waits until every participant is connected and for settleQuiet
// no new track has arrived (the server decides which tracks a subscriber
// gets) and the room's size has not changed (another run, such as a
// capped-only one beside this, still joining), or cfg.Settle passes.
func settle(ctx context.Context, cfg WebRTCConfig, peers []*rtcPeer) bool {
	const settleQuiet = 3 * time.Second
	deadline := time.Now().Add(cfg.Settle)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	last, changed := -1, time.Now()
	for {
		all, tracks := true, 0
		for _, p := range peers {
			all = all && p.connected.Load() != 0
			tracks += p.trackCount() + int(p.roomSize.Load())
		}
		if tracks != last {
			last, changed = tracks, time.Now()
		}
		if all && time.Since(changed) >= settleQuiet {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// closeAllRTC leaves with every participant, a few at a time.
func closeAllRTC(peers []*rtcPeer) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 20)
	for _, p := range peers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p.close()
		}()
	}
	wg.Wait()
}

// Write prints the report for people.
func (r *WebRTCReport) Write(w io.Writer) {
	c := r.Config
	what := "audio only"
	if c.Video {
		what = fmt.Sprintf("audio + VP8 video %d kbit/s (simulcast when the server asks), %d tiles of %dx%d",
			c.VideoKbps, c.Tiles, c.TileWidth, c.TileHeight)
	}
	secs := r.end.Sub(r.start).Seconds()
	who := "participants"
	if c.CappedOnly {
		who = fmt.Sprintf("capped-only participants (line %d kbit/s, added to a room another run fills)", c.BWCapKbps)
	}
	fmt.Fprintf(w, "dialroom load (webrtc): %d %s in room %s, %s, %v measured\n",
		c.Participants, who, c.Room, what, r.end.Sub(r.start).Round(time.Millisecond))
	fmt.Fprintf(w, "participants: %d joined, %d failed; all connected, no new track and no one joining for 3 s before measuring: %v\n", r.Joined, r.Failed, r.Settled)
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error:  %s\n", r.FirstError)
	}
	j50, j95 := quantiles(r.joins)
	fmt.Fprintf(w, "join time:    median %v, p95 %v (WebSocket open to media connected, %d connected)\n",
		j50.Round(time.Millisecond), j95.Round(time.Millisecond), len(r.joins))
	if len(r.steps[0]) > 0 {
		fmt.Fprintf(w, "join steps:  ")
		for i, name := range joinSteps {
			s50, s95 := quantiles(r.steps[i])
			fmt.Fprintf(w, " %s %v/%v", name, s50.Round(time.Millisecond), s95.Round(time.Millisecond))
			if i < len(joinSteps)-1 {
				fmt.Fprint(w, ",")
			}
		}
		fmt.Fprintln(w, " (median/p95 of the connected participants)")
	}
	if secs <= 0 || len(r.totals) == 0 {
		return
	}
	var rates, videoRates, losses []float64
	var audioStreams, videoStreams int
	var expected, received, vExpected, vReceived uint64
	for _, t := range r.totals {
		rates = append(rates, float64(t.audioBytes+t.videoBytes)*8/secs/1000)
		videoRates = append(videoRates, float64(t.videoBytes)*8/secs/1000)
		audioStreams += t.audioStreams
		videoStreams += t.videoStreams
		expected += t.expected
		received += t.received
		vExpected += t.videoExpected
		vReceived += t.videoRecv
		if t.expected > 0 {
			losses = append(losses, 100*(1-float64(t.received)/float64(t.expected)))
		}
	}
	r50, r95 := quantilesF(rates)
	v50, v95 := quantilesF(videoRates)
	l50, l95 := quantilesF(losses)
	fmt.Fprintf(w, "received:     per subscriber median %.0f kbit/s, p95 %.0f (video median %.0f, p95 %.0f)\n", r50, r95, v50, v95)
	loss := 0.0
	if expected > 0 {
		loss = 100 * (1 - float64(received)/float64(expected))
	}
	fmt.Fprintf(w, "packet loss:  %.3f %% overall (%d of %d packets: audio %d of %d, video %d of %d); per subscriber median %.3f %%, p95 %.3f %%\n",
		loss, expected-received, expected, (expected-vExpected)-(received-vReceived), expected-vExpected,
		vExpected-vReceived, vExpected, l50, l95)
	if c.ownMarkers && !c.CappedOnly {
		// With a shared marker clock the caller prints every direction.
		c.Markers.Direction(true, true).write(w)
	}
	fmt.Fprintf(w, "streams:      %d audio + %d video forwarded to the subscribers (a stream counts when any packet of it arrived)\n", audioStreams, videoStreams)
	if len(r.sentEnd) > 0 && len(r.sentStart) == len(r.sentEnd) {
		fmt.Fprintf(w, "published:    VP8 per publisher and layer, kbit/s (smallest first):")
		for i := range r.sentEnd {
			fmt.Fprintf(w, " %.0f", float64(r.sentEnd[i]-r.sentStart[i])*8/secs/1000/float64(len(r.totals)))
		}
		fmt.Fprintln(w, " (layers the server does not want are paused)")
	}
	if c.ServerPID > 0 {
		cores := cpuShare(r.procStart, r.procEnd)
		per := 0.0
		if n := audioStreams + videoStreams; n > 0 {
			per = 100 * cores / float64(n)
		}
		perKpps := 0.0
		if pps := float64(received) / secs; pps > 0 {
			perKpps = 100 * cores / (pps / 1000)
		}
		fmt.Fprintf(w, "server:       %.1f %% of one core, %.3f %% of a core per forwarded stream, %.2f %% per 1000 forwarded packets/s (%.0f packets/s); RSS %.1f MB (%.1f MB before), %d threads\n",
			100*cores, per, perKpps, float64(received)/secs, mb(r.procEnd.rssBytes), mb(r.procIdle.rssBytes), r.procEnd.threads)
	}
	for _, cr := range r.capped {
		cr.write(w, c.BWCapKbps, secs)
	}
	fmt.Fprintf(w, "load tool:    %.1f %% of one core (it shares the machine with the server)\n", 100*cpuShare(r.selfStart, r.selfEnd))
}

// quantilesF returns the median and 95th percentile of v (zero when empty).
func quantilesF(v []float64) (p50, p95 float64) {
	if len(v) == 0 {
		return 0, 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2], s[min(len(s)-1, len(s)*95/100)]
}
