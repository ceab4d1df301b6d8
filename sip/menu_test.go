package sip

import (
	"slices"
	"testing"

	"dialroom/mixer"
)

// pumpUntilPrompt plays the mixer's part (one WriteAudio of room silence
// per frame) until the caller hears a loud frame: the prompt laid over the
// room's audio.
func pumpUntilPrompt(t *testing.T, p *phone, leg mixer.Leg) {
	t.Helper()
	silence := make([]int16, mixer.NarrowSamples)
	pcm := make([]int16, 1500)
	for range 500 {
		leg.WriteAudio(silence)
		pkt := <-p.packets
		if n := DecodeULaw(pcm, pkt.Payload); rms(pcm[:n]) > 1000 {
			return
		}
	}
	t.Fatal("no prompt over the room's audio within 500 frames")
}

// *6 in the meeting mutes the caller (the room gets silence, the member is
// told, the caller hears a prompt), *6 again unmutes, *0 plays the help.
func TestKeypadMuteInMeeting(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	j := env.waitJoin(t)
	p.sendToneUntil(j.member.heard, testWaitLong) // until the call routes audio to the room
	for len(p.packets) > 0 {
		<-p.packets // the welcome prompt and silence before the join
	}

	p.sendDTMFLikeSipp("*6")
	pumpUntilPrompt(t, p, j.leg) // "muted": the mute is in force
	before := j.member.loudFrames()
	p.sendTone(25)
	p.sendDTMFLikeSipp("*6")
	pumpUntilPrompt(t, p, j.leg) // "unmuted": the tone frames, sent earlier, have been read
	if got := j.member.loudFrames(); got != before {
		t.Errorf("%d loud frames reached the room while muted, want 0", got-before)
	}
	select {
	case <-j.member.loudSig: // an old signal from before the mute
	default:
	}
	p.sendToneUntil(toClosed(j.member.loudSig), testWaitLong) // until the unmute takes effect

	p.sendDTMFLikeSipp("*0")
	pumpUntilPrompt(t, p, j.leg) // keypad help
	j.member.mu.Lock()
	if got, want := j.member.muted, []bool{true, false}; !slices.Equal(got, want) {
		t.Errorf("SetMuted calls %v, want %v", got, want)
	}
	j.member.mu.Unlock()
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}

// toClosed turns one value on ch into a closed channel for waitClosed.
func toClosed(ch <-chan struct{}) <-chan struct{} {
	out := make(chan struct{})
	go func() { <-ch; close(out) }()
	return out
}
