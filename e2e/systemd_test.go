package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSystemdUnit checks deploy/dialroom.service with systemd's own tools:
// "systemd-analyze verify" must print nothing (no unknown or misspelt
// directive) and "systemd-analyze security --offline" must rate the
// hardening at exposure 3.0 or better ("OK"; 10 is an unprotected unit).
// (The machine has no systemd as PID 1, so the unit is not started here;
// Type=notify readiness is tested by TestSIGTERMDrainsCallers.)
func TestSystemdUnit(t *testing.T) {
	needTools(t, "systemd-analyze")
	bin := needBinary(t)
	unit, err := os.ReadFile("../deploy/dialroom.service")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "ExecStart=/usr/local/bin/dialroom serve") {
		t.Fatal("deploy/dialroom.service: ExecStart no longer runs /usr/local/bin/dialroom serve")
	}
	for _, want := range []string{"Type=notify", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
		"CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n", "User=dialroom"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("deploy/dialroom.service lacks %q", strings.TrimSpace(want))
		}
	}
	path := filepath.Join(t.TempDir(), "dialroom.service")
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/dialroom", bin)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "systemd-analyze", "verify", path).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(ctx, "systemd-analyze", "security", "--offline=yes", "--no-pager", path).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	level, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security: exposure %.1f", level)
	if level > 3.0 {
		t.Errorf("systemd-analyze security: exposure %.1f, want <= 3.0\n%s", level, out)
	}
}
