package sip

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// freePorts returns n distinct ports free on 127.0.0.1 for UDP, for tools
// that cannot take port 0. Even ports, as sipp's -mp wants.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var held []net.PacketConn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for len(ports) < n {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if p := c.LocalAddr().(*net.UDPAddr).Port; p%2 == 0 && p < 65000 {
			ports = append(ports, p)
		}
	}
	return ports
}

// TestSippCall is an end-to-end call from sipp 3.6 (Debian sip-tester): its
// RFC 4733 quirks (PT 96 on its own SSRC, PT 97 noise, ms timestamps) must
// still get the caller in, and its tone must reach the room.
func TestSippCall(t *testing.T) {
	runSippCaller(t, "testdata/sipp_pin.xml", "-key", "pin", "1234#")
}

// TestSippInfoCall is the same call from a caller whose keys arrive as SIP
// INFO (application/dtmf-relay), with no telephone-event in the SDP.
func TestSippInfoCall(t *testing.T) {
	runSippCaller(t, "testdata/sipp_info.xml")
}

// runSippCaller runs one sipp caller scenario against a fresh server; the
// caller must join room "standup" with PIN 1234, be heard, and hang up.
func runSippCaller(t *testing.T, scenarioFile string, extra ...string) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	for _, tool := range []string{"sipp", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("sipp needs root for RFC 4733 DTMF")
	}
	env := startServer(t, Config{})
	dir := t.TempDir()
	sox := exec.Command("sox", "-n", "-r", "8000", "-c", "1", "-t", "ul", "tone.ul", "synth", "10", "sine", "440", "vol", "0.5")
	sox.Dir = dir
	if out, err := sox.CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	scenario, err := filepath.Abs(scenarioFile)
	if err != nil {
		t.Fatal(err)
	}
	// freePorts can only pick ports that are free now; sipp binds its
	// media ports (mp, mp+1, mp+2, ...) later, and another process may take
	// one first. sipp then stops before sending anything: try new ports.
	for try := 1; ; try++ {
		ports := freePorts(t, 2)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		args := []string{"-sf", scenario, "-i", "127.0.0.1",
			"-p", fmt.Sprint(ports[0]), "-mp", fmt.Sprint(ports[1]), "-m", "1", "-nostdin"}
		args = append(args, extra...)
		args = append(args, "-s", roomNumber, "-timeout", "25s", "-timeout_error", env.srv.UDPAddr().String())
		cmd := exec.CommandContext(ctx, "sipp", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil && try < 3 && bytes.Contains(out, []byte("Unable to bind")) {
			t.Logf("sipp could not bind its ports (try %d): %s", try, firstLine(out, "Unable to bind"))
			continue
		}
		if err != nil {
			t.Fatalf("sipp: %v\n%s", err, tail(out, 2000))
		}
		break
	}
	j := env.waitJoin(t)
	if j.slug != "standup" {
		t.Errorf("joined %q, want standup", j.slug)
	}
	waitClosed(t, j.member.heard, "sipp's tone in the room")
	waitClosed(t, j.member.left, "Leave after sipp's BYE")
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// firstLine returns the first line of out that contains sub.
func firstLine(out []byte, sub string) string {
	for line := range bytes.Lines(out) {
		if bytes.Contains(line, []byte(sub)) {
			return string(bytes.TrimSpace(line))
		}
	}
	return ""
}
