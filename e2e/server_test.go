package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// roomSpec is a room the test creates with the CLI before the server starts.
type roomSpec struct {
	slug, name, pin, lang string
	number                string // E.164, routed to the room; empty for none
}

// server is one running dialroom process.
type server struct {
	httpAddr string // 127.0.0.1:PORT
	sipAddr  string // 127.0.0.1:PORT
	cmd      *exec.Cmd
	out      *syncBuffer // stdout and stderr
	exited   chan struct{}
	waitErr  error // valid after exited is closed
}

// syncBuffer is a bytes.Buffer safe for the process's writers and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines cut]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

func itoa(i int) string { return strconv.Itoa(i) }

// startServer creates rooms with the CLI in a fresh data directory, starts
// "dialroom serve" on free loopback ports, and waits until HTTP answers and a
// SIP OPTIONS gets 200. Cleanup stops it with SIGTERM and fails the test if it
// does not exit; on failure the server's log is printed.
func startServer(t *testing.T, bin string, rooms ...roomSpec) *server {
	t.Helper()
	// A short drain: these tests stop the server with callers that are gone.
	s := launchServer(t, bin, "shutdown: {grace: 2s}", nil, rooms)
	t.Cleanup(func() { s.stop(t, rooms) })
	if err := s.waitReady(deadlineCtx(t, 20*time.Second)); err != nil {
		t.Fatalf("dialroom serve not ready: %v", err)
	}
	return s
}

// launchServer creates rooms with the CLI in a fresh data directory and starts
// "dialroom serve" on free loopback ports, with extraYAML appended to the
// shared configuration and env added to the environment.
func launchServer(t *testing.T, bin, extraYAML string, env []string, rooms []roomSpec) *server {
	t.Helper()
	data := t.TempDir()
	for _, r := range rooms {
		addRoom(t, bin, data, r)
	}
	cfg := writeConfig(t, data, extraYAML)
	s := &server{
		httpAddr: net.JoinHostPort("127.0.0.1", itoa(freeTCPPort(t))),
		sipAddr:  net.JoinHostPort("127.0.0.1", itoa(freeSIPPort(t))),
		out:      &syncBuffer{},
		exited:   make(chan struct{}),
	}
	s.cmd = exec.Command(bin, "serve", "-config", cfg, "-data", data,
		"-http", s.httpAddr, "-sip", s.sipAddr)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start dialroom serve: %v", err)
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.exited) }()
	return s
}

// addRoom runs "dialroom room add" and, with a number, "dialroom number add".
func addRoom(t *testing.T, bin, data string, r roomSpec) {
	t.Helper()
	args := []string{"room", "add", r.slug}
	if r.name != "" {
		args = append(args, "-name", r.name)
	}
	if r.pin != "" {
		args = append(args, "-pin", r.pin)
	}
	if r.lang != "" {
		args = append(args, "-lang", r.lang)
	}
	runCLI(t, bin, append(args, "-data", data)...)
	if r.number != "" {
		runCLI(t, bin, "number", "add", r.number, "-room", r.slug, "-data", data)
	}
}

// runCLI runs the binary with args and fails the test unless it exits 0.
func runCLI(t *testing.T, bin string, args ...string) {
	t.Helper()
	ctx := deadlineCtx(t, 30*time.Second)
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("dialroom %s: %v\n%s", args[0]+" "+args[1], err, out)
	}
}

// writeConfig writes the YAML config the e2e servers share and returns its path.
func writeConfig(t *testing.T, dir, extraYAML string) string {
	t.Helper()
	base := rtpPortBase()
	yaml := fmt.Sprintf(`demo: {enabled: false}
log: {level: debug}
sip: {media_ip: 127.0.0.1, rtp_port_min: %d, rtp_port_max: %d}
webrtc: {ice_ips: [127.0.0.1]}
%s
`, base, base+99, extraYAML)
	path := filepath.Join(dir, "dialroom.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatalf("write config: %v", err)
	}
	return path
}

// waitReady polls HTTP and SIP OPTIONS until both answer, the process exits,
// or ctx ends.
func (s *server) waitReady(ctx context.Context) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = s.probe(ctx); last == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("process exited: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("%w (last probe: %v)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// probe checks once that HTTP answers at all and that OPTIONS gets a 200.
func (s *server) probe(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.httpAddr+"/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	resp.Body.Close()
	code, _, err := sipUDP(ctx, s.sipAddr, optionsRequest, 500*time.Millisecond)
	if err != nil {
		return fmt.Errorf("sip options: %w", err)
	}
	if code != 200 {
		return fmt.Errorf("sip options: got %d, want 200", code)
	}
	return nil
}

// roomURL is the page a browser user opens to join slug as name.
func (s *server) roomURL(slug, name string) string {
	return "http://" + s.httpAddr + "/r/" + slug + "?name=" + name
}

// stop sends SIGTERM, fails t if the process does not exit within 10 s, checks
// the log for leaked PINs and numbers, and prints the log when t failed.
func (s *server) stop(t *testing.T, rooms []roomSpec) {
	select {
	case <-s.exited:
		if !t.Failed() {
			t.Errorf("dialroom serve exited before the test ended: %v", s.waitErr)
		}
	default:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("dialroom serve did not exit within 10 s of SIGTERM; killing it")
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	log := s.out.String()
	for _, r := range rooms {
		checkNoPIN(t, log, r)
	}
	if strings.Contains(log, strings.TrimPrefix(callerNumber, "+")) {
		t.Errorf("server log contains a caller's full number")
	}
	if t.Failed() {
		t.Logf("dialroom serve log:\n%s", tail(log, 200))
	}
}

// callerNumber is the From number of the sipp scenarios in testdata/. The
// server may show it masked, never in full (DESIGN.md: privacy defaults). The
// room's own number may appear: it is the number people are told to dial.
const callerNumber = "+4917612345678"

// checkNoPIN fails t when the server log contains the room's PIN as a whole
// digit string (DESIGN.md: privacy defaults).
func checkNoPIN(t *testing.T, log string, r roomSpec) {
	t.Helper()
	if r.pin != "" && regexp.MustCompile(`(^|\D)`+r.pin+`(\D|$)`).MatchString(log) {
		t.Errorf("server log contains the PIN of room %s", r.slug)
	}
}
