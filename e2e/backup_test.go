package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBackupRestoreWhileRunning: while the server runs and another process
// keeps adding rooms, "dialroom backup" writes snapshots, each a complete
// database; "dialroom restore" then puts a backup back under the running
// server, which serves the restored rooms at once (and 404 for rooms the
// backup lacks).
func TestBackupRestoreWhileRunning(t *testing.T) {
	needTools(t)
	bin := needBinary(t)
	ctx := deadlineCtx(t, 90*time.Second)
	srv := startServer(t, bin, testRoom)
	data := dataDir(t, srv)

	writerDone := make(chan error, 1)
	go func() {
		for i := range 15 {
			if out, err := exec.CommandContext(ctx, bin, "room", "add", fmt.Sprintf("w%02d", i), "-data", data).CombinedOutput(); err != nil {
				writerDone <- fmt.Errorf("room add w%02d: %v\n%s", i, err, out)
				return
			}
		}
		writerDone <- nil
	}()
	dir := t.TempDir()
	var backups []string
	for i := range 3 {
		file := filepath.Join(dir, fmt.Sprintf("b%d.db", i))
		runCLI(t, bin, "backup", file, "-data", data)
		backups = append(backups, file)
	}
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	for _, b := range backups {
		// Each backup is a complete database: restore it into a fresh
		// directory and list it.
		fresh := t.TempDir()
		runCLI(t, bin, "restore", b, "-data", fresh)
		out := cliOutput(t, bin, "room", "list", "-data", fresh)
		if !strings.Contains(out, "e2e ") {
			t.Errorf("backup %s: rooms %q, want the e2e room", filepath.Base(b), out)
		}
		t.Logf("backup %s holds %d rooms", filepath.Base(b), strings.Count(out, "\n")-1)
	}

	runCLI(t, bin, "room", "add", "after-backup", "-data", data)
	if code := httpStatus(ctx, "http://"+srv.httpAddr+"/r/after-backup"); code != 200 {
		t.Fatalf("room added after the backup: got %d, want 200", code)
	}
	// A backup holding only the e2e room, restored under the running server.
	onlyE2E := filepath.Join(dir, "only-e2e.db")
	fresh := t.TempDir()
	addRoom(t, bin, fresh, testRoom)
	runCLI(t, bin, "backup", onlyE2E, "-data", fresh)
	runCLI(t, bin, "restore", onlyE2E, "-data", data)
	for path, want := range map[string]int{"/r/e2e": 200, "/r/after-backup": 404, "/r/w01": 404} {
		if code := httpStatus(ctx, "http://"+srv.httpAddr+path); code != want {
			t.Errorf("running server after restore, GET %s: got %d, want %d", path, code, want)
		}
	}
}

// dataDir is the -data directory the server was started with.
func dataDir(t *testing.T, s *server) string {
	t.Helper()
	for i, a := range s.cmd.Args {
		if a == "-data" && i+1 < len(s.cmd.Args) {
			return s.cmd.Args[i+1]
		}
	}
	t.Fatal("server has no -data argument")
	return ""
}

// cliOutput runs the binary and returns its standard output.
func cliOutput(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	if err != nil {
		t.Fatalf("dialroom %v: %v", args, err)
	}
	return string(out)
}
