package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// sippCall describes one sipp run with a single call.
type sippCall struct {
	scenario  string            // file name in testdata/
	builtin   string            // or a scenario built into sipp (-sn), e.g. "uas"
	echo      bool              // echo the RTP received (-rtp_echo)
	dir       string            // working directory; holds caller.ul, the caller's voice
	target    string            // host:port of the SIP server
	service   string            // Request-URI user, the dialled number (-s)
	holdMs    int               // length of the scenario's <pause/> (-d)
	keys      map[string]string // -key name value, e.g. pin -> 123456#
	sipPort   int               // -p; 0 picks a free one
	mediaPort int               // -mp; 0 picks a free one
}

// sippRun is a started sipp process.
type sippRun struct {
	t         *testing.T
	call      sippCall
	ownMedia  bool // the media port was picked here, so a retry may pick another
	cmd       *exec.Cmd
	out       *syncBuffer
	exited    chan struct{}
	waitErr   error // valid after exited is closed
	bindTries int
}

// startSipp starts sipp as a UAC placing c; Cleanup kills it if still running.
func startSipp(t *testing.T, c sippCall) *sippRun {
	t.Helper()
	if c.sipPort == 0 {
		c.sipPort = freeUDPPort(t)
	}
	own := c.mediaPort == 0
	if own {
		c.mediaPort = freeMediaPorts(t)
	}
	r := launchSipp(t, c)
	r.ownMedia = own
	return r
}

// launchSipp runs sipp for c (ports chosen).
func launchSipp(t *testing.T, c sippCall) *sippRun {
	t.Helper()
	scen := "-sn"
	if c.builtin == "" {
		abs, err := filepath.Abs(filepath.Join("testdata", c.scenario))
		if err != nil {
			t.Fatal(err)
		}
		scen = abs
	}
	r := &sippRun{t: t, call: c, out: &syncBuffer{}, exited: make(chan struct{})}
	r.cmd = exec.Command("sipp", sippArgs(scen, c)...)
	r.cmd.Dir = c.dir
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	go func() { r.waitErr = r.cmd.Wait(); close(r.exited) }()
	t.Cleanup(func() {
		select {
		case <-r.exited:
		default:
			_ = r.cmd.Process.Kill()
			<-r.exited
		}
	})
	return r
}

// sippArgs builds the command line for one call of scenario file scen, or of
// c.builtin when scen is "-sn".
func sippArgs(scen string, c sippCall) []string {
	args := []string{"-sf", scen}
	if scen == "-sn" {
		args = []string{"-sn", c.builtin}
	}
	name := c.logName()
	args = append(args, "-m", "1", "-nostdin",
		"-i", "127.0.0.1", "-mi", "127.0.0.1",
		"-p", itoa(c.sipPort), "-mp", itoa(c.mediaPort),
		"-timeout", "120s", "-timeout_error",
		"-trace_msg", "-message_file", filepath.Join(c.dir, name+".msg.log"),
		"-trace_err", "-error_file", filepath.Join(c.dir, name+".err.log"))
	if c.echo {
		args = append(args, "-rtp_echo")
	}
	if c.service != "" {
		args = append(args, "-s", c.service)
	}
	if c.holdMs > 0 {
		args = append(args, "-d", itoa(c.holdMs))
	}
	keys := make([]string, 0, len(c.keys))
	for k := range c.keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-key", k, c.keys[k])
	}
	if c.target != "" {
		args = append(args, c.target)
	}
	return args
}

// logName names the trace files of this call in its directory.
func (c sippCall) logName() string {
	if c.builtin != "" {
		return c.builtin + "-" + itoa(c.sipPort)
	}
	return c.scenario + "-" + itoa(c.sipPort)
}

// wait waits until sipp exits or ctx ends and returns an error, with sipp's
// SIP trace, unless sipp exited 0 (the scenario completed).
//
// sipp binds its media ports (-mp and the three above it) only when it
// starts; another process may take one after they were picked. sipp then
// exits at once without sending anything, and wait starts it again on
// other media ports (up to twice), unless the test fixed the media port.
func (r *sippRun) wait(ctx context.Context) error {
	select {
	case <-r.exited:
	case <-ctx.Done():
		return fmt.Errorf("sipp %s still running: %w\n%s", r.call.logName(), ctx.Err(), r.trace())
	}
	if r.waitErr != nil && r.ownMedia && r.bindTries < 2 && strings.Contains(r.trace(), "Unable to bind") {
		r.t.Logf("sipp %s could not bind its media ports; again on others", r.call.logName())
		c := r.call
		c.mediaPort = freeMediaPorts(r.t)
		n := launchSipp(r.t, c)
		n.ownMedia, n.bindTries = true, r.bindTries+1
		*r = *n
		return r.wait(ctx)
	}
	if r.waitErr != nil {
		return fmt.Errorf("sipp %s: %w\n%s", r.call.logName(), r.waitErr, r.trace())
	}
	return nil
}

// running reports whether sipp has not exited yet.
func (r *sippRun) running() bool {
	select {
	case <-r.exited:
		return false
	default:
		return true
	}
}

// trace returns sipp's error log and the end of its message log, for failures.
func (r *sippRun) trace() string {
	name := r.call.logName()
	errs, _ := os.ReadFile(filepath.Join(r.call.dir, name+".err.log"))
	msgs, _ := os.ReadFile(filepath.Join(r.call.dir, name+".msg.log"))
	return fmt.Sprintf("--- sipp errors:\n%s\n--- sipp messages:\n%s\n--- sipp screen:\n%s",
		tail(string(errs), 40), tail(string(msgs), 120), tail(r.out.String(), 30))
}

// makePulses writes seconds of 48 kHz WAV for Chromium's fake microphone: a
// sine at freq Hz, 300 ms on and 200 ms off. Chromium's noise suppression
// fades a steady tone to a few percent within seconds; pulses keep their level.
func makePulses(t *testing.T, path string, freq, seconds int) {
	t.Helper()
	args := []string{"-n", "-r", "48000", "-c", "1", "-b", "16", "-t", "wav", path,
		"synth", "0.3", "sine", itoa(freq), "vol", "0.5", "pad", "0", "0.2", "repeat", itoa(2*seconds - 1)}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "sox", args...).CombinedOutput(); err != nil {
		t.Fatalf("sox %v: %v\n%s", args, err, out)
	}
}

// makeTone writes seconds of a sine at freq Hz with sox. ext picks the format:
// "ul" is headerless 8 kHz µ-law (what sipp's rtp_stream plays), "wav" 48 kHz
// 16-bit mono (Chromium's fake microphone). freq 0 writes silence.
func makeTone(t *testing.T, path string, freq, seconds int, ext string) {
	t.Helper()
	var format []string
	switch ext {
	case "ul":
		format = []string{"-r", "8000", "-c", "1", "-t", "ul"}
	case "wav":
		format = []string{"-r", "48000", "-c", "1", "-b", "16", "-t", "wav"}
	default:
		t.Fatalf("makeTone: unknown format %q", ext)
	}
	args := append(append([]string{"-n"}, format...), path)
	if freq == 0 {
		args = append(args, "trim", "0", itoa(seconds))
	} else {
		args = append(args, "synth", itoa(seconds), "sine", itoa(freq), "vol", "0.5")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "sox", args...).CombinedOutput(); err != nil {
		t.Fatalf("sox %v: %v\n%s", args, err, out)
	}
}
