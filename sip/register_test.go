package sip

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestRegisterBackoff(t *testing.T) {
	tests := []struct {
		n    int
		base time.Duration
	}{{1, 5 * time.Second}, {2, 10 * time.Second}, {3, 20 * time.Second}, {7, 5 * time.Minute}, {40, 5 * time.Minute}}
	for _, tt := range tests {
		for range 20 {
			if got := registerBackoff(tt.n); got < tt.base || got > tt.base+tt.base/10 {
				t.Errorf("registerBackoff(%d) = %v, want %v plus at most 10 %%", tt.n, got, tt.base)
			}
		}
	}
	for _, tt := range []struct{ granted, want time.Duration }{
		{2 * time.Second, time.Second}, {300 * time.Second, 240 * time.Second}, {time.Hour, 59 * time.Minute},
	} {
		if got := refreshIn(tt.granted); got != tt.want {
			t.Errorf("refreshIn(%v) = %v, want %v", tt.granted, got, tt.want)
		}
	}
}

// TestRegistrationWithSipp registers with sipp acting as registrar: a 401
// challenge answered with digest, a refresh when the 2 s registration runs
// out, and the unregistration on Close; the state shows each step.
func TestRegistrationWithSipp(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Skip("sipp not installed")
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
	trunk := Trunk{Name: "carrier", Register: &Registration{Registrar: fmt.Sprintf("127.0.0.1:%d", ports[0]),
		Username: "dialroom", Password: "s3cret", Domain: "carrier.test", Expires: time.Minute}}
	env := startServer(t, Config{RefuseLoopback: true, Trunks: []Trunk{trunk},
		OnTrunkState: func(st TrunkState) { states <- st }})
	var got []TrunkState
	for len(got) < 2 {
		select {
		case st := <-states:
			got = append(got, st)
		case <-ctx.Done():
			t.Fatalf("states so far %+v, want two registrations", got)
		}
	}
	if !got[0].Registered || got[0].Until.Sub(got[0].Updated) != 2*time.Second {
		t.Errorf("first state %+v, want registered for 2 s", got[0])
	}
	if !got[1].Registered || got[1].Until.Sub(got[1].Updated) != time.Minute {
		t.Errorf("second state %+v, want registered for 60 s (refreshed)", got[1])
	}
	if ts := env.srv.TrunkStates(); len(ts) != 1 || ts[0].Name != "carrier" || !ts[0].Registered {
		t.Errorf("TrunkStates() = %+v, want carrier registered", ts)
	}
	if err := env.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-sippErr; err != nil {
		t.Fatalf("sipp registrar: %v\n%s", err, tail(sippOut.Bytes(), 2000))
	}
}
