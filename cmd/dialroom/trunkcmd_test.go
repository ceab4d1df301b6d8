package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"dialroom/config"
	"dialroom/dialplan"
	"dialroom/sip"
)

// trunkCLI runs a trunk command with stdin and returns its output.
func trunkCLI(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	var err error
	switch args[0] {
	case "add":
		err = runTrunkAdd(args[1:], strings.NewReader(stdin), &out, &errOut)
	case "set":
		err = runTrunkSet(args[1:], strings.NewReader(stdin), &out, &errOut)
	case "rm":
		err = runTrunkRemove(args[1:], &out, &errOut)
	case "list":
		err = runTrunkList(args[1:], &out, &errOut)
	}
	return out.String() + errOut.String(), err
}

func TestTrunkCLI(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.yaml")
	yaml := "data_dir: " + dir + "\nsip:\n  trunks:\n    - {name: carrier, sources: [192.0.2.0/28]}\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := trunkCLI(t, "pw-digest-1\n", "add", "pbx", "-source", "198.51.100.7,2001:db8::/64", "-user", "pbxuser",
		"-password-stdin", "-max-calls", "4", "-srtp", "required", "-config", cfgPath); err != nil {
		t.Fatalf("add: %v", err)
	}
	if _, err := trunkCLI(t, "reg-pw-2\n", "add", "sbc", "-register", "sbc.example:5060", "-reg-user", "acct",
		"-reg-password-stdin", "-config", cfgPath); err != nil {
		t.Fatalf("add registration trunk: %v", err)
	}
	if _, err := trunkCLI(t, "", "add", "carrier", "-source", "10.0.0.1", "-config", cfgPath); err == nil {
		t.Errorf("add with the name of a configured trunk: got no error")
	}
	if _, err := trunkCLI(t, "", "add", "x", "-source", "10.0.0.1", "-user", "u", "-config", cfgPath); err == nil {
		t.Errorf("add -user without -password-stdin: got no error")
	}
	if _, err := trunkCLI(t, "", "add", "bad", "-source", "not-an-ip", "-config", cfgPath); !errors.Is(err, dialplan.ErrInvalid) {
		t.Errorf("add with a bad source: got %v, want ErrInvalid", err)
	}

	out, err := trunkCLI(t, "", "list", "-config", cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(strings.Fields(out), " ")
	for _, w := range []string{"NAME SOURCES AUTH TRANSPORT SRTP STATE ORIGIN",
		"carrier 192.0.2.0/28 - udp,tcp optional ready config",
		"pbx 198.51.100.7,2001:db8::/64 digest (407) user pbxuser udp,tcp required ready stored",
		"sbc registrar sbc.example:5060 - udp optional not registered", "stored"} {
		if !strings.Contains(got, w) {
			t.Errorf("list %q lacks %q", out, w)
		}
	}
	if strings.Contains(out, "pw-digest-1") || strings.Contains(out, "reg-pw-2") {
		t.Errorf("list shows a password: %q", out)
	}
	fi, err := os.Stat(filepath.Join(dir, dialplan.DBFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode: got %v (%v), want 0600", fi.Mode().Perm(), err)
	}

	if _, err := trunkCLI(t, "", "set", "pbx", "-no-auth", "-source", "198.51.100.8", "-config", cfgPath); err != nil {
		t.Fatalf("set: %v", err)
	}
	if _, err := trunkCLI(t, "", "set", "sbc", "-no-register", "-source", "203.0.113.5", "-config", cfgPath); err != nil {
		t.Fatalf("set -no-register: %v", err)
	}
	s, err := dialplan.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	pbx, err := s.Trunk(context.Background(), "pbx")
	s.Close()
	if err != nil || pbx.Username != "" || pbx.Password != "" || strings.Join(pbx.Sources, ",") != "198.51.100.8" || pbx.MaxCalls != 4 {
		t.Errorf("after set: got %+v, %v", pbx, err)
	}
	if _, err := trunkCLI(t, "", "rm", "pbx", "-config", cfgPath); err != nil {
		t.Fatalf("rm: %v", err)
	}
	if _, err := trunkCLI(t, "", "rm", "pbx", "-config", cfgPath); !errors.Is(err, dialplan.ErrNotFound) {
		t.Errorf("rm twice: got %v, want ErrNotFound", err)
	}
	if _, err := trunkCLI(t, "", "rm", "carrier", "-config", cfgPath); err == nil {
		t.Errorf("rm a configured trunk: got no error")
	}
}

// fakeReplacer records what the SIP server was given.
type fakeReplacer struct {
	mu    sync.Mutex
	calls int
	last  []sip.Trunk
}

func (f *fakeReplacer) ReplaceTrunks(ts []sip.Trunk) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.last = ts
	return nil
}

// The reloader hands the SIP server the configured trunks plus the stored
// ones, again only when the database changed; a stored trunk with a
// configured trunk's name is left out.
func TestTrunkReloader(t *testing.T) {
	ctx := context.Background()
	s, err := dialplan.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fake := &fakeReplacer{}
	cfgTrunks := []config.Trunk{{Name: "carrier", Sources: []string{"192.0.2.1"}}}
	r := newTrunkReloader(s, fake, cfgTrunks, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := r.reload(ctx, true); err != nil {
		t.Fatal(err)
	}
	if len(fake.last) != 1 || fake.last[0].Name != "carrier" {
		t.Fatalf("first reload: got %+v", fake.last)
	}
	if err := r.reload(ctx, false); err != nil || fake.calls != 1 {
		t.Errorf("reload without change: %d calls (%v), want 1", fake.calls, err)
	}
	if _, err := s.AddTrunk(ctx, dialplan.StoredTrunk{Name: "pbx", Sources: []string{"198.51.100.0/24"}, Username: "u", Password: "p", SRTP: "off"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddTrunk(ctx, dialplan.StoredTrunk{Name: "carrier", Sources: []string{"10.0.0.1"}}); err != nil {
		t.Fatal(err) // possible when the configuration gained the name later
	}
	if err := r.reload(ctx, false); err != nil {
		t.Fatal(err)
	}
	if fake.calls != 2 || len(fake.last) != 2 || fake.last[1].Name != "pbx" || fake.last[1].Password != "p" ||
		fake.last[1].SRTP != sip.SRTPOff || fake.last[0].Sources[0].String() != "192.0.2.1/32" {
		t.Errorf("reload after change: %d calls, trunks %+v", fake.calls, fake.last)
	}

	// The console's editor refuses configured names and applies changes.
	a := trunkAdmin{trunkLister: trunkLister{dataDir: t.TempDir(), trunks: cfgTrunks}, store: s,
		reload: func(ctx context.Context) error { return r.reload(ctx, false) }}
	if err := a.AddTrunk(ctx, dialplan.StoredTrunk{Name: "carrier", Sources: []string{"10.0.0.2"}}); !errors.Is(err, dialplan.ErrExists) {
		t.Errorf("editor add with a configured name: got %v, want ErrExists", err)
	}
	if err := a.RemoveTrunk(ctx, "pbx"); err != nil {
		t.Fatal(err)
	}
	if fake.calls != 3 || len(fake.last) != 1 {
		t.Errorf("after remove through the editor: %d calls, trunks %+v", fake.calls, fake.last)
	}
	list, err := a.Trunks(ctx)
	if err != nil || len(list) != 1 || list[0].Origin != "config" {
		t.Errorf("editor list: got %+v, %v (the stored namesake is hidden)", list, err)
	}
}

// A trunk that stops registering disappears from the state file.
func TestTrunkStateRemoved(t *testing.T) {
	dir := t.TempDir()
	w := newTrunkStateWriter(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.update(sip.TrunkState{Name: "a", Registered: true})
	w.update(sip.TrunkState{Name: "b", LastError: "timeout"})
	w.update(sip.TrunkState{Name: "a", Removed: true})
	states, err := readTrunkStates(dir)
	if _, ok := states["a"]; err != nil || ok || states["b"].LastError != "timeout" {
		t.Errorf("states: got %+v, %v; want only b", states, err)
	}
}
