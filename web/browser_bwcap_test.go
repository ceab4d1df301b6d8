//go:build netns

// This test needs root (it creates a network namespace and shapes a veth
// link with tc), iproute2 and Chromium, so it has its own build tag, which
// `make test` sets (`make test-bwcap` runs it alone; `go test ./...`
// without the tag, as a user without root, leaves it out). It prints the
// SFU's decisions for the capped browser (its video ceiling and layer
// switches, and the layers it waits for) at the end, and Bob's reception
// per second while capped.

package web

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"dialroom/internal/browsertest"
	"dialroom/sfu"
)

// Bandwidth cap in a browser: Bob's Chromium runs in a network namespace
// that the test creates, joined to this machine by a veth pair with
// addresses private to the pair (10.x.y.1 here, 10.x.y.2 in the
// namespace); tc's token bucket filter on this side of the pair caps what
// the server sends him. Ann's Chromium and the server stay in this
// namespace (Ann loads the page from 127.0.0.1).

// netLab is a network namespace with one veth link to this namespace.
type netLab struct {
	ns       string // namespace name
	hostDev  string // this side of the veth pair; its egress is the namespace's downlink
	hostIP   string // the address on hostDev
	insideIP string // the address in the namespace
}

// runCmd runs a command and fails the test with its output if it fails.
func runCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newNetLab creates the namespace and the link; both are removed when the
// test ends.
func newNetLab(t *testing.T) *netLab {
	t.Helper()
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (iproute2; make test installs it): %v", tool, err)
		}
	}
	if os.Geteuid() != 0 {
		t.Fatal("creating a network namespace needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)")
	}
	pid := os.Getpid()
	l := &netLab{
		ns:       fmt.Sprintf("drbw%d", pid),
		hostDev:  fmt.Sprintf("drbw%dh", pid%1000000),
		hostIP:   fmt.Sprintf("10.%d.%d.1", 200+pid%50, (pid/50)%256),
		insideIP: fmt.Sprintf("10.%d.%d.2", 200+pid%50, (pid/50)%256),
	}
	inside := fmt.Sprintf("drbw%dn", pid%1000000)
	runCmd(t, "ip", "netns", "add", l.ns)
	t.Cleanup(func() {
		// Deleting the namespace deletes its end of the pair, and so both.
		_ = exec.Command("ip", "netns", "del", l.ns).Run()
		_ = exec.Command("ip", "link", "del", l.hostDev).Run()
	})
	runCmd(t, "ip", "link", "add", l.hostDev, "type", "veth", "peer", "name", inside)
	runCmd(t, "ip", "link", "set", inside, "netns", l.ns)
	runCmd(t, "ip", "addr", "add", l.hostIP+"/24", "dev", l.hostDev)
	runCmd(t, "ip", "link", "set", l.hostDev, "up")
	runCmd(t, "ip", "netns", "exec", l.ns, "ip", "addr", "add", l.insideIP+"/24", "dev", inside)
	runCmd(t, "ip", "netns", "exec", l.ns, "ip", "link", "set", inside, "up")
	runCmd(t, "ip", "netns", "exec", l.ns, "ip", "link", "set", "lo", "up")
	return l
}

// capDownlink limits what the namespace receives to kbit kilobits per
// second (a 250 ms buffer, then drops), or lifts the limit when kbit is 0.
func (l *netLab) capDownlink(t *testing.T, kbit int) {
	t.Helper()
	if kbit == 0 {
		runCmd(t, "tc", "qdisc", "del", "dev", l.hostDev, "root")
		return
	}
	runCmd(t, "tc", "qdisc", "add", "dev", l.hostDev, "root", "tbf",
		"rate", fmt.Sprintf("%dkbit", kbit), "burst", "16kb", "latency", "250ms")
}

// startChromiumIn launches headless Chromium, with the flags of
// internal/browsertest, inside the namespace (here if l is nil). It treats
// origin, if not "", as a secure context (camera and microphone need one;
// only localhost is by default); video, if not "", is a Y4M file the fake
// camera plays in a loop.
func startChromiumIn(t *testing.T, l *netLab, origin, video string) context.Context {
	t.Helper()
	if _, err := os.Stat(browsertest.ChromiumPath); err != nil {
		t.Skipf("chromium not installed (make test installs it): %v", err)
	}
	out2 := &lockedWriter{}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browsertest.ChromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(out2),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("headless", "new"),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	}
	where := "here"
	if l != nil {
		where = l.ns
		// The browser talks to chromedp over a pipe (its file descriptors
		// 3 and 4), which "ip netns exec" passes on.
		opts = append(opts, chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			ip, _ := exec.LookPath("ip")
			cmd.Args = append([]string{"ip", "netns", "exec", l.ns, cmd.Path}, cmd.Args[1:]...)
			cmd.Path = ip
		}))
	}
	if origin != "" {
		opts = append(opts, chromedp.Flag("unsafely-treat-insecure-origin-as-secure", origin))
	}
	if video != "" {
		opts = append(opts, chromedp.Flag("use-file-for-fake-video-capture", video))
	}
	for _, f := range []string{"no-sandbox", "disable-gpu", "use-fake-ui-for-media-stream", "allow-loopback-in-peer-connection",
		"use-fake-device-for-media-stream", "disable-background-networking", "disable-component-update",
		"disable-sync", "disable-quic", "disable-dev-shm-usage", "disable-background-timer-throttling",
		"disable-renderer-backgrounding", "disable-backgrounding-occluded-windows"} {
		opts = append(opts, chromedp.Flag(f, true))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if t.Failed() {
			t.Logf("chromium (%s) output:\n%s", where, tailLines(out2.String(), 30))
		}
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium (%s): %v\n%s", where, err, tailLines(out2.String(), 30))
	}
	return ctx
}

// tailLines returns the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// writeNoiseY4M writes a second of 640x360 random noise at 30 frames/s as
// a Y4M file: a camera picture no encoder can squeeze, so each simulcast
// layer comes at its maximum bitrate.
func writeNoiseY4M(t *testing.T) string {
	t.Helper()
	const w, h, frames = 640, 360, 30
	b := []byte(fmt.Sprintf("YUV4MPEG2 W%d H%d F30:1 Ip A1:1 C420jpeg\n", w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for range frames {
		b = append(b, "FRAME\n"...)
		for range w * h {
			b = append(b, byte(rng.Uint32()))
		}
		for range w * h / 2 {
			b = append(b, 128)
		}
	}
	path := filepath.Join(t.TempDir(), "noise.y4m")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// lockedWriter collects a browser's output from its reader goroutine.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.b.Len() < 1<<20 {
		w.b.Write(p)
	}
	return len(p), nil
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// rxSample is one look at Bob's reception of Ann's video.
type rxSample struct {
	at     time.Time
	Bytes  float64 `json:"bytes"`  // inbound-rtp bytesReceived
	W      int     `json:"w"`      // frameWidth
	Frames int     `json:"frames"` // framesDecoded
	Lost   int     `json:"lost"`   // packetsLost
	Pkts   int     `json:"pkts"`   // packetsReceived
	Layer  string  `json:"layer"`  // the tile's data-layer (from the server's layers message)
	Keys   int     `json:"keys"`   // keyFramesDecoded
	PLI    int     `json:"pli"`    // pliCount: keyframes Bob asked for
	NACK   int     `json:"nack"`   // nackCount
}

// rxJS reads an rxSample in Bob's page; tile is Ann's tile element.
func rxJS(tile string) string {
	return `(async () => {
  const s = {bytes: 0, w: 0, frames: 0, lost: 0, pkts: 0, layer: '', keys: 0, pli: 0, nack: 0};
  (await window.dialroom.session().pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') {
      s.bytes += r.bytesReceived || 0; s.w = Math.max(s.w, r.frameWidth || 0);
      s.frames += r.framesDecoded || 0; s.lost += r.packetsLost || 0; s.pkts += r.packetsReceived || 0;
      s.keys += r.keyFramesDecoded || 0; s.pli += r.pliCount || 0; s.nack += r.nackCount || 0;
    }
  });
  const t = ` + tile + `;
  s.layer = (t && t.dataset.layer) || '';
  return s;
})()`
}

// rxLog samples Bob's reception every 250 ms.
type rxLog struct {
	t       *testing.T
	tab     context.Context
	js      string
	samples []rxSample
}

// sample takes one sample; a failed read is logged and skipped.
func (r *rxLog) sample() {
	s, err := chromedp.Run(r.tab, chromedp.Evaluate[rxSample](r.js, chromedp.EvalAwaitPromise))
	if err != nil {
		r.t.Logf("getStats: %v", err)
		return
	}
	s.at = time.Now()
	r.samples = append(r.samples, s)
}

// last returns the newest sample.
func (r *rxLog) last() rxSample {
	if len(r.samples) == 0 {
		return rxSample{}
	}
	return r.samples[len(r.samples)-1]
}

// rate is the video bitrate received over the last d, kbit/s (0 without
// two samples that far apart).
func (r *rxLog) rate(d time.Duration) float64 {
	n := len(r.samples)
	if n < 2 {
		return 0
	}
	end := r.samples[n-1]
	for i := n - 2; i >= 0; i-- {
		if end.at.Sub(r.samples[i].at) >= d {
			return (end.Bytes - r.samples[i].Bytes) * 8 / end.at.Sub(r.samples[i].at).Seconds() / 1000
		}
	}
	return 0
}

// since returns the change of frames and of lost and received packets
// over the last d.
func (r *rxLog) since(d time.Duration) (frames, lost, pkts int) {
	n := len(r.samples)
	if n < 2 {
		return 0, 0, 0
	}
	end := r.samples[n-1]
	i := n - 2
	for i > 0 && end.at.Sub(r.samples[i].at) < d {
		i--
	}
	return end.Frames - r.samples[i].Frames, end.Lost - r.samples[i].Lost, end.Pkts - r.samples[i].Pkts
}

// until samples every 250 ms until ok accepts the log or ctx ends.
func (r *rxLog) until(ctx context.Context, ok func() bool) error {
	for {
		r.sample()
		if ok() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// layers lists the distinct layers and frame widths seen since from, in order.
func (r *rxLog) layers(from time.Time) string {
	var out []string
	prev := "-"
	for _, s := range r.samples {
		if s.at.Before(from) {
			continue
		}
		cur := fmt.Sprintf("%q/%dpx", s.Layer, s.W)
		if cur != prev {
			out = append(out, fmt.Sprintf("%s@%.1fs", cur, s.at.Sub(from).Seconds()))
			prev = cur
		}
	}
	return strings.Join(out, " ")
}

// trace describes Bob's reception since from, one line per second:
// kbit/s, frames and keyframes decoded, packets received and lost, PLIs
// and NACKs sent, and the layer.
func (r *rxLog) trace(from time.Time) string {
	var b strings.Builder
	var prev *rxSample
	for i := range r.samples {
		s := &r.samples[i]
		if s.at.Before(from) || prev != nil && s.at.Sub(prev.at) < time.Second {
			continue
		}
		if prev != nil {
			fmt.Fprintf(&b, "\n  %5.1fs %4.0f kbit/s %3d frames %2d keys %3d pkts %3d lost %2d pli %3d nack %q/%dpx",
				s.at.Sub(from).Seconds(), (s.Bytes-prev.Bytes)*8/s.at.Sub(prev.at).Seconds()/1000, s.Frames-prev.Frames,
				s.Keys-prev.Keys, s.Pkts-prev.Pkts, s.Lost-prev.Lost, s.PLI-prev.PLI, s.NACK-prev.NACK, s.Layer, s.W)
		}
		prev = s
	}
	return b.String()
}

// logDecisions logs the SFU's bandwidth decisions for participant id from
// its debug log: when its video ceiling changed and which layers it chose.
func logDecisions(t *testing.T, log, id string) {
	var lines []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "participant="+id) &&
			(strings.Contains(l, `msg="video ceiling"`) || strings.Contains(l, `msg="video layer`)) {
			if i := strings.Index(l, "T"); i >= 0 {
				l = l[i+1:] // the time of day
			}
			l = strings.Replace(l, " level=DEBUG", "", 1)
			l = strings.Replace(l, " pkg=sfu room=demo participant="+id, "", 1)
			lines = append(lines, l)
		}
	}
	if len(lines) > 200 {
		lines = append(lines[:100], append([]string{"..."}, lines[len(lines)-100:]...)...)
	}
	t.Logf("the SFU's decisions for Bob:\n%s", strings.Join(lines, "\n"))
}

// minCapKbit is the lowest cap TestBrowserBandwidthCap puts on the line
// when the uncapped layer leaves room for it.
const minCapKbit = 350

// TestBrowserBandwidthCap: Bob watches Ann's camera (noise, so every layer
// comes at its maximum bitrate) in a large tile over a line that the test
// then caps: at 500 kbit/s, or, if he received less than 1 Mbit/s
// uncapped (Chromium sends a 640x360 camera in two layers, q and h, and a
// busy machine's encoder sends less), at half of that but not under
// minCapKbit unless that would not be below three quarters of it. The
// server must notice: the layer it forwards drops, Bob's received bitrate
// settles under the cap with video still arriving and little loss, and
// when the cap is lifted the layer comes back.
func TestBrowserBandwidthCap(t *testing.T) {
	lab := newNetLab(t)
	// The SFU's decisions for Bob (its video ceiling and layer switches,
	// logged at debug level) are printed at the end.
	sfuLog := &lockedWriter{}
	mgr, err := sfu.NewManager(sfu.Config{ICEIPs: []string{"127.0.0.1", lab.hostIP}},
		slog.New(slog.NewTextHandler(sfuLog, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	// One server on both addresses: Ann (here) uses 127.0.0.1, Bob (in the
	// namespace) the veth address.
	hs := &http.Server{Handler: New(Config{}, testRooms, mgr, slog.New(slog.DiscardHandler))}
	var bases []string
	for _, ip := range []string{"127.0.0.1", lab.hostIP} {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatal(err)
		}
		bases = append(bases, "http://"+ln.Addr().String())
		go func() { _ = hs.Serve(ln) }()
	}
	t.Cleanup(func() {
		_ = hs.Close()
		_ = mgr.Close()
	})
	annTab := startChromiumIn(t, nil, "", writeNoiseY4M(t))
	bobTab := startChromiumIn(t, lab, bases[1], "")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	var ids [2]string
	for i, j := range []struct {
		tab  context.Context
		base string
		name string
	}{{annTab, bases[0], "Ann"}, {bobTab, bases[1], "Bob"}} {
		if err := chromedp.Do(j.tab, chromedp.Navigate(j.base+"/r/demo?name="+j.name), chromedp.Click(`[data-testid=join]`)); err != nil {
			t.Fatalf("%s joins: %v", j.name, err)
		}
		if err := waitIn(ctx, j.tab, `window.dialroom.session() && !!window.dialroom.session().id`); err != nil {
			t.Fatalf("%s joins: %v", j.name, err)
		}
		id, err := chromedp.Run(j.tab, chromedp.Evaluate[string](`window.dialroom.session().id`))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	t.Cleanup(func() { logDecisions(t, sfuLog.String(), ids[1]) })
	ann := fmt.Sprintf(`document.querySelector('.tile[data-participant="%s"]')`, ids[0])
	if err := waitIn(ctx, bobTab, ann+` !== null`); err != nil {
		t.Fatalf("Ann's tile in Bob's page: %v", err)
	}
	if _, err := chromedp.Run(bobTab, chromedp.Evaluate[bool](fmt.Sprintf(`(%s.style.cssText = %q, true)`, ann,
		"width: 1200px; height: 675px; flex: none"))); err != nil {
		t.Fatal(err)
	}
	rx := &rxLog{t: t, tab: bobTab, js: rxJS(ann)}

	// Uncapped: wait until one layer has been received for 8 s.
	rank := map[string]int{"": 0, "q": 1, "h": 2, "f": 3}
	t0 := time.Now()
	steady := t0
	if err := rx.until(ctx, func() bool {
		n := len(rx.samples)
		if n < 2 || rx.last().W == 0 || rx.last().Layer == "" || rx.samples[n-2].Layer != rx.last().Layer {
			steady = time.Now()
		}
		return time.Since(steady) > 8*time.Second || time.Since(t0) > 150*time.Second
	}); err != nil || time.Since(steady) <= 8*time.Second {
		t.Fatalf("uncapped: no steady layer within 150 s (%v); last %+v; %s; layers %s", err, rx.last(), mediaState(bobTab), rx.layers(t0))
	}
	layer0, w0, before := rx.last().Layer, rx.last().W, rx.rate(6*time.Second)
	t.Logf("uncapped: layer %s, %d px wide, %.0f kbit/s (6 s window); layers since joining %s", layer0, w0, before, rx.layers(t0))
	if rank[layer0] < rank["h"] {
		t.Fatalf("uncapped: the server forwards only layer %q of Ann's large tile (estimate %d bit/s)",
			layer0, mgr.Room("demo").BandwidthEstimate(ids[1]))
	}
	// The cap is below what the layer took uncapped, so that it no
	// longer fits, but leaves room for the lowest layer (about 150 kbit/s
	// of noise), Ann's audio (about 50) and the SFU's retransmissions (at
	// least 40): under about 250 kbit/s nothing the SFU may do fits (it
	// keeps the speaker's lowest layer), the line stays full, and q's
	// keyframes are lost. A busy machine's encoder sends h at under
	// 500 kbit/s, and half of that was such a cap.
	capKbit := 500
	if before < 1000 {
		capKbit = max(int(before/2), min(minCapKbit, int(before*3/4)))
	}

	// Capped: the layer drops, the bitrate fits the line.
	lab.capDownlink(t, capKbit)
	capped := time.Now()
	var dropped, fits time.Duration
	if err := rx.until(ctx, func() bool {
		if dropped == 0 && rank[rx.last().Layer] < rank[layer0] {
			dropped = time.Since(capped)
		}
		if fits == 0 && time.Since(capped) > 2*time.Second && rx.rate(2*time.Second) <= 1.1*float64(capKbit) {
			fits = time.Since(capped)
		}
		return dropped > 0 && fits > 0 && time.Since(capped) > max(dropped, fits)+10*time.Second ||
			time.Since(capped) > 90*time.Second
	}); err != nil || dropped == 0 {
		t.Fatalf("capped at %d kbit/s: the server kept layer %s for %.0f s (%v); layers %s", capKbit, layer0,
			time.Since(capped).Seconds(), err, rx.layers(capped))
	}
	under := rx.rate(5 * time.Second)
	frames, lost, pkts := rx.since(5 * time.Second)
	t.Logf("capped at %d kbit/s: layer below %s after %.1f s, 2-s bitrate under the cap after %.1f s; last 5 s: %.0f kbit/s, %d frames decoded, %d of %d packets lost; layers %s; estimate %d bit/s",
		capKbit, layer0, dropped.Seconds(), fits.Seconds(), under, frames, lost, lost+pkts, rx.layers(capped), mgr.Room("demo").BandwidthEstimate(ids[1]))
	t.Logf("capped: Bob's reception per second:%s", rx.trace(capped))
	if frames == 0 {
		t.Errorf("capped: no frame decoded in the last 5 s (layer %q)", rx.last().Layer)
	}
	if under > 1.1*float64(capKbit) {
		t.Errorf("capped: %.0f kbit/s received through a %d kbit/s line", under, capKbit)
	}
	if lost+pkts > 0 && float64(lost) > 0.1*float64(lost+pkts) {
		t.Errorf("capped: %d of %d packets lost in the last 5 s: the server sends more than the line takes", lost, lost+pkts)
	}

	// Lifted: the layer comes back, with frames, for 5 s.
	lab.capDownlink(t, 0)
	lifted := time.Now()
	var back time.Duration
	var held time.Time
	if err := rx.until(ctx, func() bool {
		frames, _, _ := rx.since(2 * time.Second)
		if rank[rx.last().Layer] < rank[layer0] || rx.last().W < w0 || frames == 0 {
			held, back = time.Time{}, 0
		} else if held.IsZero() {
			held, back = time.Now(), time.Since(lifted)
		}
		return !held.IsZero() && time.Since(held) > 5*time.Second || time.Since(lifted) > 90*time.Second
	}); err != nil || held.IsZero() || time.Since(held) <= 5*time.Second {
		t.Fatalf("cap lifted: layer %s at %d px did not come back for 5 s within 90 s (%v); layers %s; estimate %d bit/s", layer0, w0, err,
			rx.layers(lifted), mgr.Room("demo").BandwidthEstimate(ids[1]))
	}
	t.Logf("cap lifted: layer %s again after %.1f s, then %.0f kbit/s over 5 s; layers %s",
		layer0, back.Seconds(), rx.rate(5*time.Second), rx.layers(lifted))
}
