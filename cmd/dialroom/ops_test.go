package main

import (
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"dialroom/sip"
)

func TestVersionText(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}, {Key: "vcs.time", Value: "2026-11-26T10:00:00Z"},
	}}
	got := versionText(bi, true)
	for _, want := range []string{"dialroom " + version + "\n", "go1.26.8", "revision: abc123 (modified)", "2026-11-26T10:00:00Z"} {
		if !strings.Contains(got, want) {
			t.Errorf("got %q, want it to contain %q", got, want)
		}
	}
	if got := versionText(nil, false); !strings.Contains(got, "revision: unknown") {
		t.Errorf("without build info: got %q, want revision unknown", got)
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("log:\n  level: loud\nsip:\n  rtp_port_min: 2\n  rtp_port_max: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := call("check-config", "../../dialroom.example.yaml")
	if code != 0 || !strings.HasSuffix(out, ": ok\n") {
		t.Errorf("example: got %d %q %q, want 0 and ok", code, out, errOut)
	}
	code, out, errOut = call("check-config", bad)
	if code != 1 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "log.level:") || !strings.Contains(out, "sip.rtp_port_min:") {
		t.Errorf("bad file: got %d %q %q, want 1 and a line for log.level and one for sip.rtp_port_min", code, out, errOut)
	}
	if code, _, _ := call("check-config"); code != 2 {
		t.Errorf("no FILE: got exit %d, want 2", code)
	}
}

func TestBackupRestoreCLI(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(t.TempDir(), "backup.db")
	steps := []struct {
		args []string
		code int
	}{
		{[]string{"room", "add", "kept", "-pin", "1234", "-data", data}, 0},
		{[]string{"backup", file, "-data", data}, 0},
		{[]string{"room", "rm", "kept", "-data", data}, 0},
		{[]string{"room", "add", "later", "-data", data}, 0},
		{[]string{"restore", file, "-data", data}, 0},
		{[]string{"restore", filepath.Join(data, "missing.db"), "-data", data}, 1},
		{[]string{"backup", "-data", data}, 2},
	}
	for _, s := range steps {
		if code, out, errOut := call(s.args...); code != s.code {
			t.Fatalf("%v: got exit %d (%q %q), want %d", s.args, code, out, errOut, s.code)
		}
	}
	_, out, _ := call("room", "list", "-data", data)
	if !strings.Contains(out, "kept") || strings.Contains(out, "later") {
		t.Errorf("after restore: got rooms %q, want kept and not later", out)
	}
}

func TestSdNotify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", path)
	if err := sdNotify("READY=1"); err != nil {
		t.Fatalf("sdNotify: %v", err)
	}
	buf := make([]byte, 64)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil || string(buf[:n]) != "READY=1" {
		t.Errorf("got %q, %v; want READY=1", buf[:n], err)
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if err := sdNotify("READY=1"); err != nil {
		t.Errorf("without NOTIFY_SOCKET: got %v, want nil", err)
	}
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "nobody-listens"))
	if err := sdNotify("READY=1"); err == nil {
		t.Errorf("to a missing socket: got nil, want an error")
	}
}

func TestOpsHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "check-config"}, {"backup", "-h"}, {"restore", "--help"}, {"help", "version"}} {
		code, out, errOut := call(args...)
		if code != 0 || !strings.Contains(out, "Usage") || errOut != "" {
			t.Errorf("%v: got exit %d, stdout %q, stderr %q; want 0, usage, nothing", args, code, out, errOut)
		}
	}
}

func TestRegisteredTrunkReadiness(t *testing.T) {
	states := []sip.TrunkState{
		{Name: "up", Registered: true},
		{Name: "down", LastError: "403 Forbidden"},
		{Name: "trying"},
	}
	for _, tc := range []struct {
		name string
		ok   bool
		want string
	}{
		{"up", true, ""},
		{"down", false, "not registered: 403 Forbidden"},
		{"trying", false, "not registered yet"},
		{"unknown", false, "not registered yet"},
	} {
		err := registered(states, tc.name)
		if (err == nil) != tc.ok || (err != nil && err.Error() != tc.want) {
			t.Errorf("%s: got %v, want ok=%v %q", tc.name, err, tc.ok, tc.want)
		}
	}
}
