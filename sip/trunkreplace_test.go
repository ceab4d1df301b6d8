package sip

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
)

// A trunk added while the server runs accepts INVITEs from its source at
// once; removing it refuses them again, and the call already in progress
// from that trunk goes on until its caller hangs up.
func TestReplaceTrunksAtRuntime(t *testing.T) {
	env := startServer(t, Config{RefuseLoopback: true})
	p := newPhone(t, env.srv.UDPAddr())
	if got := inviteStatus(t, p, sipgo.AnswerOptions{}, 5*time.Second); got != 403 {
		t.Fatalf("INVITE before the trunk exists: got %d, want 403", got)
	}
	if err := env.srv.ReplaceTrunks([]Trunk{localTrunk("carrier")}); err != nil {
		t.Fatal(err)
	}
	if got := inviteStatus(t, p, sipgo.AnswerOptions{}, 5*time.Second); got != 200 {
		t.Fatalf("INVITE after the trunk was added: got %d, want 200", got)
	}
	if got := optionsStatus(t, p, 5*time.Second); got != 200 {
		t.Errorf("OPTIONS after the trunk was added: got %d, want 200", got)
	}

	inCall := newPhone(t, env.srv.UDPAddr())
	inCall.call(openNumber)
	j := env.waitJoin(t)

	if err := env.srv.ReplaceTrunks(nil); err != nil {
		t.Fatal(err)
	}
	if got := inviteStatus(t, p, sipgo.AnswerOptions{}, 5*time.Second); got != 403 {
		t.Errorf("INVITE after the trunk was removed: got %d, want 403", got)
	}
	// The call from the removed trunk is still up: its media still reaches
	// the room, and it has not left.
	inCall.sendToneUntil(j.member.heard, testWaitLong)
	select {
	case <-j.member.left:
		t.Fatal("call left the room when its trunk was removed")
	default:
	}
	inCall.hangup()
	waitClosed(t, j.member.left, "the call to leave after BYE")
}

// A registration trunk added at runtime registers with sipp as registrar
// (401 digest, refresh); removing it unregisters (Expires: 0, which the
// scenario waits for) and forgets its state.
func TestReplaceTrunksRegistersWithSipp(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Skip("sipp not installed (make test installs sip-tester)")
	}
	scenario, err := filepath.Abs("testdata/sipp_registrar.xml")
	if err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sipp := exec.CommandContext(ctx, "sipp", "-sf", scenario, "-i", "127.0.0.1", "-p", fmt.Sprint(ports[0]),
		"-mp", fmt.Sprint(ports[1]), "-m", "1", "-nostdin", "-timeout", "20s", "-timeout_error")
	sipp.Dir = t.TempDir()
	var sippOut bytes.Buffer
	sipp.Stdout, sipp.Stderr = &sippOut, &sippOut
	sippErr := make(chan error, 1)
	if err := sipp.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { sippErr <- sipp.Wait() }()

	states := make(chan TrunkState, 16)
	env := startServer(t, Config{RefuseLoopback: true, OnTrunkState: func(st TrunkState) { states <- st }})
	trunk := Trunk{Name: "carrier", Register: &Registration{Registrar: fmt.Sprintf("127.0.0.1:%d", ports[0]),
		Username: "dialroom", Password: "s3cret", Domain: "carrier.test", Expires: time.Minute}}
	if err := env.srv.ReplaceTrunks([]Trunk{trunk}); err != nil {
		t.Fatal(err)
	}
	var got []TrunkState
	for len(got) < 2 {
		select {
		case st := <-states:
			got = append(got, st)
		case <-ctx.Done():
			t.Fatalf("states so far %+v, want two registrations", got)
		}
	}
	if !got[0].Registered || !got[1].Registered {
		t.Errorf("states %+v, want registered, then refreshed", got)
	}
	// The registrar's address is now a source of the trunk.
	if tr, ok := env.srv.trunks.bySource(netipLoopback()); !ok || tr.Name != "carrier" {
		t.Errorf("bySource(127.0.0.1) = %q, %v; want carrier", tr.Name, ok)
	}
	// An unrelated change keeps the registration (sipp would fail on a
	// second 401 round where it expects the unregistration).
	same := trunk
	same.MaxCalls = 3
	if err := env.srv.ReplaceTrunks([]Trunk{same}); err != nil {
		t.Fatal(err)
	}
	if err := env.srv.ReplaceTrunks(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-sippErr:
		if err != nil {
			t.Fatalf("sipp registrar: %v\n%s", err, tail(sippOut.Bytes(), 2000))
		}
	case <-ctx.Done():
		t.Fatal("no unregistration after the trunk was removed")
	}
	for removed := false; !removed; {
		select {
		case st := <-states:
			removed = st.Removed && st.Name == "carrier"
		case <-ctx.Done():
			t.Fatal("the state hook never heard that the trunk was removed")
		}
	}
	if ts := env.srv.TrunkStates(); len(ts) != 0 {
		t.Errorf("TrunkStates() after removal = %+v, want none", ts)
	}
	if _, ok := env.srv.trunks.bySource(netipLoopback()); ok {
		t.Errorf("registrar still a trunk source after removal")
	}
}

func netipLoopback() netip.Addr { return netip.MustParseAddr("127.0.0.1") }

// A registration trunk whose registrar cannot be used is left out (its
// state says why) while the other trunks apply; removing it forgets the state.
func TestReplaceTrunksBadRegistrar(t *testing.T) {
	env := startServer(t, Config{RefuseLoopback: true})
	bad := Trunk{Name: "broken", Register: &Registration{Registrar: "127.0.0.1:0", Username: "u", Password: "p"}}
	err := env.srv.ReplaceTrunks([]Trunk{bad, localTrunk("carrier")})
	if err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("ReplaceTrunks: got %v, want an error naming trunk broken", err)
	}
	if tr, ok := env.srv.trunks.bySource(netipLoopback()); !ok || tr.Name != "carrier" {
		t.Errorf("bySource(127.0.0.1) = %q, %v; want carrier applied all the same", tr.Name, ok)
	}
	if ts := env.srv.TrunkStates(); len(ts) != 1 || ts[0].Name != "broken" || ts[0].Registered || ts[0].LastError == "" {
		t.Errorf("TrunkStates() = %+v, want broken with its error", ts)
	}
	if err := env.srv.ReplaceTrunks([]Trunk{localTrunk("carrier")}); err != nil {
		t.Fatal(err)
	}
	if ts := env.srv.TrunkStates(); len(ts) != 0 {
		t.Errorf("TrunkStates() after removal = %+v, want none", ts)
	}
}
