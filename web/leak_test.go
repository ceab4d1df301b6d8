package web

import (
	"log/slog"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"dialroom/sfu"
)

// TestNoGoroutineLeak joins over WebSocket, disconnects, shuts everything
// down and checks that the goroutine count settles back.
func TestNoGoroutineLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	log := slog.New(slog.DiscardHandler)
	mgr, err := sfu.NewManager(sfu.Config{ICEIPs: []string{"127.0.0.1"}}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{}, testRooms, mgr, log))
	c, _, err := dialWS(t, srv.URL, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.send(joinMsg{Type: "join", Room: "demo", Name: "Ann"})
	c.next("joined")
	_ = c.ws.Close()
	srv.Close()
	if err := mgr.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: got %d, want <= %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
