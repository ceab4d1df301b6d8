package sip

import (
	"testing"
	"time"

	"dialroom/mixer"
)

// feedRoomAudio plays the mixer: it writes a silent frame to the leg every
// 20 ms (the tones replace it) until the test ends.
func feedRoomAudio(t *testing.T, leg mixer.Leg) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	t.Cleanup(func() { close(done); <-stopped })
	go func() {
		defer close(stopped)
		tick := time.NewTicker(frameInterval)
		defer tick.Stop()
		silence := make([]int16, mixer.NarrowSamples)
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				leg.WriteAudio(silence)
			}
		}
	}()
}

// Someone joins: the caller hears a tone; two more changes right after it
// are summed up into one more tone, no sooner than toneGap later.
func TestJoinLeaveTones(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	j := env.waitJoin(t)
	feedRoomAudio(t, j.leg)
	waitQuiet(t, p)        // the welcome prompt is over
	j.member.size.Store(2) // someone joined
	p.waitLoudAudio(testWaitLong)
	first := time.Now()
	j.member.size.Store(3)
	j.member.size.Store(1) // net: one left
	p.skipQueued()
	waitQuiet(t, p) // the first tone ends
	p.waitLoudAudio(testWaitLong)
	if gap := time.Since(first); gap < toneGap-500*time.Millisecond {
		t.Errorf("second tone came %v after the first, want at least about %v", gap, toneGap)
	}
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}

// QuietJoinLeave: no tone however the room changes.
func TestQuietJoinLeave(t *testing.T) {
	env := startServer(t, Config{QuietJoinLeave: true})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	j := env.waitJoin(t)
	feedRoomAudio(t, j.leg)
	waitQuiet(t, p) // the welcome prompt is over
	j.member.size.Store(2)
	deadline := time.Now().Add(toneGap + time.Second)
	pcm := make([]int16, 1500)
	for time.Now().Before(deadline) {
		select {
		case pkt := <-p.packets:
			if n := DecodeULaw(pcm, pkt.Payload); rms(pcm[:n]) > 1000 {
				t.Fatal("got a join tone with QuietJoinLeave, want none")
			}
		case <-time.After(100 * time.Millisecond):
		}
	}
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}

// waitQuiet waits for a silent packet.
func waitQuiet(t *testing.T, p *phone) {
	t.Helper()
	deadline := time.After(testWaitLong)
	pcm := make([]int16, 1500)
	for {
		select {
		case pkt := <-p.packets:
			if n := DecodeULaw(pcm, pkt.Payload); rms(pcm[:n]) < 100 {
				return
			}
		case <-deadline:
			t.Fatal("no silence after the tone")
		}
	}
}

func TestSweepTone(t *testing.T) {
	for _, up := range []bool{true, false} {
		pcm := sweepTone(up)
		if len(pcm) != toneSamples || rms(pcm) < 3000 {
			t.Errorf("up=%v: got %d samples at rms %.0f, want %d loud samples", up, len(pcm), rms(pcm), toneSamples)
		}
	}
}
