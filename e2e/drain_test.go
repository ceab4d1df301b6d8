package e2e

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"dialroom/dialplan"
	"dialroom/prompts"
)

// TestSIGTERMDrainsCallers: a sipp caller sits in a room; the server gets
// SIGTERM. It must tell systemd READY=1 and later STOPPING=1, answer a new
// INVITE with 503 while draining, play the whole "meeting is ending" prompt
// to the caller (judged by correlating what arrived with the recording) and
// only then send BYE, and exit 0.
func TestSIGTERMDrainsCallers(t *testing.T) {
	needTools(t, "sipp", "sox", "tshark")
	bin := needBinary(t)
	ctx := deadlineCtx(t, 90*time.Second)
	notify := listenNotify(t)
	srv := startServerWith(t, bin, "shutdown: {grace: 20s}", []string{"NOTIFY_SOCKET=" + notify.LocalAddr().String()}, testRoom)
	if got := readNotify(t, notify, 20*time.Second); got != "READY=1" {
		t.Fatalf("sd_notify: got %q, want READY=1", got)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code := httpStatus(ctx, "http://"+srv.httpAddr+path); code != 200 {
			t.Errorf("GET %s: got %d, want 200", path, code)
		}
	}

	dir := callerDir(t, 440)
	mp := freeUDPPort(t)
	capt := startCapture(t, mp)
	c := phoneCall(srv, dir, 0, mp)
	c.scenario = "drain_caller.xml"
	call := startSipp(t, c)
	if err := waitLog(ctx, srv, "caller joined room"); err != nil {
		t.Fatalf("caller never joined: %v\n%s", err, call.trace())
	}
	sigterm := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := readNotify(t, notify, 10*time.Second); got != "STOPPING=1" {
		t.Errorf("sd_notify after SIGTERM: got %q, want STOPPING=1", got)
	}
	if err := waitLog(ctx, srv, "draining: refusing new calls"); err != nil {
		t.Fatalf("server did not start draining: %v", err)
	}
	if code, resp, err := sipUDP(ctx, srv.sipAddr, inviteRequest, 5*time.Second); err != nil || code != 503 {
		t.Errorf("INVITE while draining: got %d, %v, want 503\n%s", code, err, resp)
	}
	if err := call.wait(ctx); err != nil {
		t.Fatalf("caller did not get the BYE: %v", err)
	}
	byeAt := time.Now()
	checkHeardPrompt(t, capt, sigterm, testRoom.lang)
	select {
	case <-srv.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("server still running 15 s after the last call ended")
	}
	if srv.waitErr != nil {
		t.Errorf("server exit: got %v, want exit 0", srv.waitErr)
	}
	t.Logf("SIGTERM to BYE received: %v", byeAt.Sub(sigterm).Round(10*time.Millisecond))
}

// checkHeardPrompt finds the meeting-ending prompt in the audio the caller
// received after since: the best normalised cross-correlation with the
// recording, at any 20 ms frame offset, must be high. G.711 keeps the
// waveform, so a faithful copy correlates at about 0.99; speech in general
// or a cut-off prompt does not.
func checkHeardPrompt(t *testing.T, c *capture, since time.Time, lang string) {
	t.Helper()
	set, err := prompts.Load()
	if err != nil {
		t.Fatal(err)
	}
	pcm := set.Prompt(lang, dialplan.PromptMeetingEnding)
	if len(pcm) == 0 {
		t.Fatalf("no meeting_ending prompt for %q", lang)
	}
	ref := make([]float64, len(pcm))
	for i, s := range pcm {
		ref[i] = float64(s) / 32768
	}
	// tshark hands packets over in bursts: wait for the tail of the call.
	var audio []float64
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	err = poll(ctx, 100*time.Millisecond, func() error {
		var n int
		var err error
		if audio, n, err = c.audioSince(since); err != nil {
			return err
		}
		if len(audio) < len(ref) {
			return fmt.Errorf("caller got %d samples (%d packets) after SIGTERM, want >= %d (the whole prompt)", len(audio), n, len(ref))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	best, at := 0.0, 0
	for lag := 0; lag+len(ref) <= len(audio); lag += 160 {
		if r := ncc(audio[lag:lag+len(ref)], ref); r > best {
			best, at = r, lag
		}
	}
	t.Logf("prompt found %.2f s after SIGTERM's first packet, correlation %.3f, then %.2f s until the call ended",
		float64(at)/8000, best, float64(len(audio)-at-len(ref))/8000)
	if best < 0.9 {
		t.Errorf("caller's audio after SIGTERM: best correlation with the prompt %.3f, want >= 0.9", best)
	}
}

// ncc is the normalised cross-correlation of two equally long signals.
func ncc(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// listenNotify opens a unixgram socket like systemd's NOTIFY_SOCKET.
func listenNotify(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// readNotify returns the next datagram sent to the notify socket.
func readNotify(t *testing.T, conn *net.UnixConn, timeout time.Duration) string {
	t.Helper()
	buf := make([]byte, 512)
	if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		t.Fatal(err)
	}
	n, err := conn.Read(buf)
	if err != nil {
		return "error: " + err.Error()
	}
	return string(buf[:n])
}

// startServerWith starts "dialroom serve" like startServer, with extra
// lines appended to its configuration and extra environment variables, but
// leaves stopping it to the test (Cleanup kills a server still running).
func startServerWith(t *testing.T, bin, extraYAML string, env []string, rooms ...roomSpec) *server {
	t.Helper()
	s := launchServer(t, bin, extraYAML, env, rooms)
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		for _, r := range rooms {
			checkNoPIN(t, s.out.String(), r)
		}
		if t.Failed() {
			t.Logf("dialroom serve log:\n%s", tail(s.out.String(), 200))
		}
	})
	return s
}

// waitLog polls the server's log until it contains text.
func waitLog(ctx context.Context, s *server, text string) error {
	return poll(ctx, 100*time.Millisecond, func() error {
		if !strings.Contains(s.out.String(), text) {
			return fmt.Errorf("log has no %q yet", text)
		}
		return nil
	})
}

// httpStatus returns the status code of GET url, or 0 on error.
func httpStatus(ctx context.Context, url string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
