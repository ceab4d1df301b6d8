package e2e

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// capture records, with tshark on lo, the RTP that arrives at one UDP port:
// what a sipp caller hears.
type capture struct {
	mu   sync.Mutex
	pkts []heard
	err  error // a parse error, reported by audioSince
}

// heard is one received RTP packet's arrival time and decoded audio.
type heard struct {
	at      time.Time
	samples []float64 // 8 kHz, -1..1
}

// startCapture starts tshark on lo for UDP to port and returns once tshark
// reports that it captures. Cleanup stops it.
func startCapture(t *testing.T, port int) *capture {
	t.Helper()
	cmd := exec.Command("tshark", "-i", "lo", "-n", "-l",
		"-f", "udp dst port "+itoa(port),
		"-T", "fields", "-e", "frame.time_epoch", "-e", "udp.payload")
	// tshark runs dumpcap as a child: give both their own process group and
	// stop the group, or a killed tshark leaves dumpcap capturing forever.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start tshark: %v", err)
	}
	c := &capture{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.read(stdout) }()
	ready := make(chan string, 1)
	go waitCapturing(stderr, ready)
	t.Cleanup(func() { stopGroup(cmd); wg.Wait() })
	select {
	case msg := <-ready:
		if !strings.Contains(msg, "Capture started") {
			t.Fatalf("tshark did not start capturing: %s", msg)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("tshark did not report capturing within 15 s")
	}
	return c
}

// stopGroup ends the process group that cmd leads: SIGTERM, then SIGKILL if
// it has not exited after 5 s.
func stopGroup(cmd *exec.Cmd) {
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
}

// waitCapturing sends the first stderr line that says tshark captures (or all
// of stderr if it ends first) to ready, then drains stderr. tshark 4.0 prints
// "Capturing on 'lo'" before dumpcap runs and "Capture started" once it does.
func waitCapturing(stderr io.Reader, ready chan<- string) {
	sc := bufio.NewScanner(stderr)
	var all strings.Builder
	for sc.Scan() {
		all.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "Capture started") {
			ready <- sc.Text()
			for sc.Scan() {
			}
			return
		}
	}
	ready <- all.String()
}

// read parses tshark's "epoch<TAB>hex payload" lines until stdout closes.
func (c *capture) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		h, err := parseHeard(sc.Text())
		c.mu.Lock()
		if err != nil && c.err == nil {
			c.err = err
		}
		if err == nil && h.samples != nil {
			c.pkts = append(c.pkts, h)
		}
		c.mu.Unlock()
	}
}

// parseHeard turns one tshark line into a packet; RTP that is not G.711 (for
// example telephone-event) yields samples == nil.
func parseHeard(line string) (heard, error) {
	epoch, payload, ok := strings.Cut(line, "\t")
	if !ok {
		return heard{}, fmt.Errorf("tshark line %q: no tab", line)
	}
	secs, err := strconv.ParseFloat(epoch, 64)
	if err != nil {
		return heard{}, fmt.Errorf("tshark time %q: %w", epoch, err)
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(payload, ":", ""))
	if err != nil {
		return heard{}, fmt.Errorf("tshark payload: %w", err)
	}
	var p rtp.Packet
	if err := p.Unmarshal(raw); err != nil {
		return heard{}, fmt.Errorf("rtp: %w", err)
	}
	h := heard{at: time.Unix(0, int64(secs*1e9))}
	switch p.PayloadType {
	case 0:
		h.samples = DecodeULaw(nil, p.Payload)
	case 8:
		h.samples = DecodeALaw(nil, p.Payload)
	}
	return h, nil
}

// audioSince returns the G.711 audio that arrived at or after t0, in arrival
// order, and how many packets that was.
func (c *capture) audioSince(t0 time.Time) ([]float64, int, error) {
	return c.audioBetween(t0, time.Time{})
}

// lastAudio returns the G.711 audio of the last d before the newest captured
// packet (tshark hands packets over in bursts, so "now" would cut the window
// short), but none from before t0, and how many packets that was.
func (c *capture) lastAudio(t0 time.Time, d time.Duration) ([]float64, int, error) {
	c.mu.Lock()
	var newest time.Time
	if len(c.pkts) > 0 {
		newest = c.pkts[len(c.pkts)-1].at
	}
	c.mu.Unlock()
	from := newest.Add(-d)
	if from.Before(t0) {
		from = t0
	}
	return c.audioBetween(from, time.Time{})
}

// audioBetween returns the audio that arrived in [from, to), or from on when to
// is zero, and how many packets that was.
func (c *capture) audioBetween(from, to time.Time) ([]float64, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []float64
	n := 0
	for _, h := range c.pkts {
		if !h.at.Before(from) && (to.IsZero() || h.at.Before(to)) {
			out = append(out, h.samples...)
			n++
		}
	}
	return out, n, c.err
}
