package sip

import (
	"context"
	"strings"
	"testing"
)

// TestDrain: a caller in a room leaves it, hears the meeting-ending prompt
// (tonePrompts: 300 ms of 440 Hz, 15 packets) and then gets a BYE; a new
// INVITE meanwhile is refused with 503; Drain returns once the call ended.
func TestDrain(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	j := env.waitJoin(t)
	for len(p.packets) > 0 { // the welcome prompt's packets
		<-p.packets
	}
	if env.srv.Draining() {
		t.Fatal("Draining before Drain: got true, want false")
	}
	drained := make(chan error, 1)
	go func() { drained <- env.srv.Drain(context.Background(), testWaitLong) }()
	waitClosed(t, j.member.left, "Leave")
	if !env.srv.Draining() {
		t.Error("Draining after Drain started: got false, want true")
	}
	loud := 0
	pcm := make([]int16, 1500)
	for loud < 10 {
		select {
		case pkt := <-p.packets:
			if n := DecodeULaw(pcm, pkt.Payload); rms(pcm[:n]) > 1000 {
				loud++
			}
		case <-p.byes:
			t.Fatalf("BYE after %d loud packets, want the prompt (>= 10) first", loud)
		case err := <-drained:
			t.Fatalf("Drain returned %v after %d loud packets, before the prompt ended", err, loud)
		}
	}
	if resp := rawExchange(t, env.srv.UDPAddr(), rawRequest("INVITE", "drain-new-call"), testWaitLong); !strings.Contains(resp, " 503 ") {
		t.Errorf("INVITE while draining: got %q, want 503", resp)
	}
	p.waitBye(testWaitLong)
	if err := <-drained; err != nil {
		t.Errorf("Drain: got %v, want nil", err)
	}
	if err := env.srv.Drain(context.Background(), 0); err != nil {
		t.Errorf("second Drain: got %v, want nil", err)
	}
}
