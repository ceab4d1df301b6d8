package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// binPath is the dialroom binary TestMain built, empty when the build failed.
var binPath string

// buildErr is why building the binary failed: server tests fail with it, the
// tool self-tests still run.
var buildErr error

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "dialroom-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	flag.Parse()
	if testing.Short() {
		buildErr = errors.New("e2e: -short: dialroom not built")
	} else {
		binPath, buildErr = buildBinary(filepath.Join(dir, "dialroom"))
	}
	return m.Run()
}

// buildBinary builds ./cmd/dialroom into out and returns out.
func buildBinary(out string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "dialroom/cmd/dialroom")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("e2e: go build ./cmd/dialroom: %w\n%s", err, msg)
	}
	return out, nil
}

// needTools skips t in -short mode and unless every named program is on PATH;
// sipp and tshark also need root (sipp's DTMF uses a raw socket, tshark
// captures on lo).
func needTools(t *testing.T, names ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("%s not installed: %v", n, err)
		}
		if (n == "sipp" || n == "tshark") && os.Geteuid() != 0 {
			t.Skipf("%s needs root here", n)
		}
	}
}

// needBinary fails t when the dialroom binary could not be built.
func needBinary(t *testing.T) string {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// deadlineCtx returns a context that ends after d or at the test's deadline.
func deadlineCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
