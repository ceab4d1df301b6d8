package web

import (
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"dialroom/dialplan"
	"dialroom/sfu"
)

// testEnv is the web handler on a real store in a temporary data
// directory, with an SFU and a valid admin token (the token file's).
type testEnv struct {
	srv   *httptest.Server
	store *dialplan.Store
	mgr   *sfu.Manager
	token string
}

// newTestEnv starts a testEnv. The handler's Config names the store as
// Admin and the token file; configure (may be nil) adds the rest. Everything
// is closed when the test ends.
func newTestEnv(t *testing.T, configure func(*Config, *dialplan.Store)) testEnv {
	t.Helper()
	dir := t.TempDir()
	store, err := dialplan.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	tokenFile := filepath.Join(dir, "admin-token")
	token, err := NewAdminToken(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	mgr, err := sfu.NewManager(sfu.Config{ICEIPs: []string{"127.0.0.1"}}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mgr.Close() })
	cfg := Config{Admin: store, AdminTokenFile: tokenFile}
	if configure != nil {
		configure(&cfg, store)
	}
	srv := httptest.NewServer(New(cfg, store, mgr, log))
	t.Cleanup(srv.Close)
	return testEnv{srv: srv, store: store, mgr: mgr, token: token}
}
