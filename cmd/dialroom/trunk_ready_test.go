package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"dialroom/config"
	"dialroom/dialplan"
	"dialroom/sip"
	"dialroom/web"
)

// acceptingRegistrar is a registrar on 127.0.0.1 that accepts every
// REGISTER for a minute; it returns its address.
func acceptingRegistrar(t *testing.T) string {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
		res.AppendHeader(sipmsg.NewHeader("Expires", "60"))
		_ = tx.Respond(res)
	})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeUDP(conn) }()
	t.Cleanup(func() {
		conn.Close()
		ua.Close()
		<-done
	})
	return conn.LocalAddr().String()
}

// silentAddr is a loopback UDP address where nothing answers.
func silentAddr(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	return addr
}

// readyz asks /readyz and returns the status and the failed checks.
func readyz(t *testing.T, checks func() []web.ReadyCheck) (int, map[string]string) {
	t.Helper()
	rec := httptest.NewRecorder()
	web.HealthFunc(checks).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	var body struct {
		Failed map[string]string `json:"failed"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("readyz body %q: %v", rec.Body, err)
	}
	return rec.Code, body.Failed
}

// Registration trunks stored in the database count for /readyz as those
// of the configuration file do: each must be registered. A stored trunk
// that is added shows up at the next reload, one that registers passes,
// and one that is removed no longer counts.
func TestReadyzCountsStoredRegistrationTrunks(t *testing.T) {
	registrar := acceptingRegistrar(t) // first, so that it outlives the unregistrations
	ctx := context.Background()
	store, err := dialplan.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cfgTrunks := []config.Trunk{{Name: "cfgreg", Register: &config.Registration{Registrar: registrar, Username: "c", Password: "p"}}}
	phones, err := sip.New(sip.Config{Listen: "127.0.0.1:0",
		RefuseLoopback: true, Trunks: sipTrunks(cfgTrunks)}, store, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- phones.Serve(ctx) }()
	defer func() {
		if err := phones.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		<-served
	}()
	reloader := newTrunkReloader(store, phones, cfgTrunks, slog.New(slog.DiscardHandler))
	checks := readyChecks(phones, store.CheckWritable)

	waitReady := func(what string, want int, wantFailed ...string) map[string]string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, failed := readyz(t, checks)
			ok := code == want && len(failed) == len(wantFailed)
			for _, name := range wantFailed {
				if _, in := failed[name]; !in {
					ok = false
				}
			}
			if ok {
				return failed
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: /readyz %d failed %v; want %d failed %v", what, code, failed, want, wantFailed)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := reloader.reload(ctx, true); err != nil {
		t.Fatal(err)
	}
	waitReady("configured trunk registered", 200)

	if _, err := store.AddTrunk(ctx, dialplan.StoredTrunk{Name: "silent", Register: &dialplan.TrunkRegistration{
		Registrar: silentAddr(t), Username: "s", Password: "p"}}); err != nil {
		t.Fatal(err)
	}
	if err := reloader.reload(ctx, false); err != nil {
		t.Fatal(err)
	}
	failed := waitReady("stored trunk whose registrar is silent", 503, "trunk silent")
	if failed["trunk silent"] != "not registered yet" {
		t.Errorf("trunk silent: %q, want not registered yet", failed["trunk silent"])
	}

	if _, err := store.AddTrunk(ctx, dialplan.StoredTrunk{Name: "answering", Register: &dialplan.TrunkRegistration{
		Registrar: registrar, Username: "a", Password: "p"}}); err != nil {
		t.Fatal(err)
	}
	if err := reloader.reload(ctx, false); err != nil {
		t.Fatal(err)
	}
	waitReady("a second stored trunk that registers", 503, "trunk silent")

	if err := store.RemoveTrunk(ctx, "silent"); err != nil {
		t.Fatal(err)
	}
	if err := reloader.reload(ctx, false); err != nil {
		t.Fatal(err)
	}
	waitReady("silent trunk removed", 200)
	if got := phones.RegistrationTrunks(); len(got) != 2 || got[0] != "answering" || got[1] != "cfgreg" {
		t.Errorf("RegistrationTrunks() = %v, want [answering cfgreg]", got)
	}
}
