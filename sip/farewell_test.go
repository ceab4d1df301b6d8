package sip

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"

	"dialroom/dialplan"
	"dialroom/mixer"
	"dialroom/prompts"
)

// A caller removed by a moderator leaves the room, hears the "removed"
// prompt and then gets BYE; when the moderator ends the meeting instead, the
// caller hears that the meeting has ended.
func TestRemovedCallerHearsPromptBeforeBye(t *testing.T) {
	for _, tc := range []struct {
		name   string
		act    func(o mixer.PhoneOwner)
		prompt string
	}{
		{"remove", mixer.PhoneOwner.Remove, "de/removed"},
		{"end", mixer.PhoneOwner.End, "de/meeting_ended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingPrompts{}
			env := startServerWith(t, Config{}, rec)
			p := newPhone(t, env.srv.UDPAddr())
			p.call(openNumber)
			j := env.waitJoin(t)
			tc.act(j.info.Owner)
			waitClosed(t, j.member.left, "Leave")
			p.skipQueued()
			p.waitLoudAudio(testWaitLong) // the prompt, sent by the call after leaving the mix
			p.waitBye(testWaitLong)
			want := []string{"de/welcome", tc.prompt}
			if got := rec.list(); !slices.Equal(got, want) {
				t.Errorf("prompts: got %v, want %v", got, want)
			}
		})
	}
}

// A locked room: the caller hears "room locked", then BYE, and never joins.
func TestLockedRoomHearsPromptThenBye(t *testing.T) {
	rec := &recordingPrompts{}
	env := startServerWith(t, Config{}, rec)
	env.bridge.set(ErrRoomLocked, false)
	p := newPhone(t, env.srv.UDPAddr())
	p.call(roomNumber)
	p.waitLoudAudio(testWaitLong)
	p.sendDTMFLikeSipp("1234#")
	p.waitBye(testWaitLong)
	want := []string{"en/enter_pin", "en/welcome", "en/room_locked"}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Errorf("prompts: got %v, want %v", got, want)
	}
}

// The first caller in an empty room hears so after the welcome; later
// callers (the bridge says the room is not empty) do not.
func TestFirstParticipantPrompt(t *testing.T) {
	for _, first := range []bool{true, false} {
		rec := &recordingPrompts{}
		env := startServerWith(t, Config{}, rec)
		env.bridge.set(nil, first)
		p := newPhone(t, env.srv.UDPAddr())
		p.call(openNumber)
		j := env.waitJoin(t)
		want := []string{"de/welcome"}
		if first {
			want = append(want, "de/first_participant")
		}
		// The prompt is asked for right after the join; hanging up then
		// leaving proves the call goroutine is past it.
		p.hangup()
		waitClosed(t, j.member.left, "Leave")
		if got := rec.list(); !slices.Equal(got, want) {
			t.Errorf("first=%v: prompts: got %v, want %v", first, got, want)
		}
	}
}

// audioUntilBye decodes what the phone hears (PCMU) until the server's
// BYE, plus the packets queued by then, as samples in [-1, 1). Like a
// phone's jitter buffer it keeps to one stream, the SSRC that sent the
// most packets (a port reused from an earlier call may still get a
// stranger's packets), and places each packet by its RTP timestamp
// (8 kHz for PCMU), so a lost packet leaves 20 ms of silence instead of
// shifting everything after it.
func (p *phone) audioUntilBye(timeout time.Duration) []float64 {
	p.t.Helper()
	streams := map[uint32][]rtp.Packet{}
	add := func(pkt rtp.Packet) {
		if pkt.PayloadType == 0 {
			streams[pkt.SSRC] = append(streams[pkt.SSRC], pkt)
		}
	}
	deadline := time.After(timeout)
wait:
	for {
		select {
		case pkt := <-p.packets:
			add(pkt)
		case <-p.byes:
			for len(p.packets) > 0 {
				add(<-p.packets)
			}
			break wait
		case <-deadline:
			p.t.Fatalf("no BYE within %v", timeout)
		}
	}
	var pkts []rtp.Packet
	for _, s := range streams {
		if len(s) > len(pkts) {
			pkts = s
		}
	}
	if len(streams) > 1 {
		p.t.Logf("%d RTP streams arrived; kept the one with %d packets", len(streams), len(pkts))
	}
	var audio []float64
	pcm := make([]int16, 1500)
	for _, pkt := range pkts {
		at := int(int32(pkt.Timestamp - pkts[0].Timestamp))
		if at < 0 || at > 60*mixer.NarrowRate {
			continue // older than the first packet, or a jump
		}
		n := DecodeULaw(pcm, pkt.Payload)
		if need := at + n; need > len(audio) {
			audio = append(audio, make([]float64, need-len(audio))...)
		}
		for i, s := range pcm[:n] {
			audio[at+i] = float64(s) / 32768
		}
	}
	return audio
}

// farewellPrompts are the recordings a caller may hear before BYE.
var farewellPrompts = []dialplan.Prompt{dialplan.PromptGoodbye, dialplan.PromptMeetingEnding,
	dialplan.PromptMeetingEnded, dialplan.PromptRemoved, dialplan.PromptRoomLocked, dialplan.PromptWelcome}

// promptHeard names the recording among farewellPrompts (in lang) that
// audio holds, by the best normalised cross-correlation at any offset
// (bestNCC), with that correlation and the runner-up's. G.711 keeps the
// waveform: a whole prompt correlates at about 0.99, another one far
// lower.
func promptHeard(t *testing.T, set *prompts.Set, lang string, audio []float64) (best dialplan.Prompt, r, second float64) {
	t.Helper()
	for _, p := range farewellPrompts {
		pcm := set.Prompt(lang, p)
		if len(pcm) == 0 {
			t.Fatalf("no recording of %s in %s", p, lang)
		}
		ref := make([]float64, len(pcm))
		for i, s := range pcm {
			ref[i] = float64(s) / 32768
		}
		top := bestNCC(audio, ref)
		switch {
		case top > r:
			best, r, second = p, top, r
		case top > second:
			second = top
		}
	}
	return best, r, second
}

// bestNCC is the highest normalised cross-correlation of ref with audio
// at any offset. Packets carry whole 20 ms frames and audioUntilBye
// places them by timestamp, so a prompt starts on the frame grid: that
// is searched first, then sample by sample around the best spot, so that
// a delay of a few samples in the send path does not hide the prompt.
// audio gets about a quarter of ref's length of silence on both sides: a
// prompt whose first or last packets are missing still lines up, scored
// by the part that arrived (10 % of its energy missing gives about 0.95).
func bestNCC(audio, ref []float64) float64 {
	const frame = mixer.NarrowSamples
	pad := make([]float64, len(ref)/4/frame*frame)
	padded := append(append(append([]float64{}, pad...), audio...), pad...)
	last := len(padded) - len(ref)
	best, at := 0.0, 0
	for lag := 0; lag <= last; lag += frame {
		if r := ncc(padded[lag:lag+len(ref)], ref); r > best {
			best, at = r, lag
		}
	}
	for lag := max(0, at-frame/2); lag <= min(last, at+frame/2); lag++ {
		best = max(best, ncc(padded[lag:lag+len(ref)], ref))
	}
	return best
}

// ncc is the normalised cross-correlation of two equally long signals.
func ncc(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// The caller hears the real recordings, judged by the audio that arrives:
// removed by a moderator, "you were removed"; the meeting ended by a
// moderator, "the meeting has ended"; each whole, before the BYE.
func TestFarewellPromptAudio(t *testing.T) {
	set, err := prompts.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		act  func(o mixer.PhoneOwner)
		want dialplan.Prompt
	}{
		{"remove", mixer.PhoneOwner.Remove, dialplan.PromptRemoved},
		{"end", mixer.PhoneOwner.End, dialplan.PromptMeetingEnded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := startServerWith(t, Config{}, set)
			p := newPhone(t, env.srv.UDPAddr())
			p.call(openNumber) // the lobby room speaks German
			j := env.waitJoin(t)
			p.skipQueued()
			tc.act(j.info.Owner)
			audio := p.audioUntilBye(testWaitLong)
			got, r, second := promptHeard(t, set, "de", audio)
			t.Logf("heard %s (correlation %.3f, next best %.3f) in %.1f s of audio", got, r, second, float64(len(audio))/mixer.NarrowRate)
			if got != tc.want || r < 0.9 || second > r-0.2 {
				t.Errorf("heard %s (correlation %.3f, next best %.3f), want %s at >= 0.9, every other recording at least 0.2 lower", got, r, second, tc.want)
			}
		})
	}
}
