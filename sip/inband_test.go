package sip

import (
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"

	"dialroom/dialplan"
	"dialroom/mixer"
	"dialroom/prompts"
)

// dtmfSpec describes generated keypad audio.
type dtmfSpec struct {
	onMS, offMS int     // tone and pause length
	lowAmp      float64 // peak amplitude of the row (low group) tone
	highAmp     float64 // peak amplitude of the column (high group) tone
	freqScale   float64 // 1 = nominal frequencies
}

var normalKeys = dtmfSpec{onMS: 50, offMS: 50, lowAmp: 6000, highAmp: 6000, freqScale: 1}

// genDTMF synthesises keys as 8 kHz PCM: 100 ms of silence, then each key.
func genDTMF(keys string, s dtmfSpec) []int16 {
	out := make([]int16, 800)
	for _, k := range []byte(keys) {
		var lo, hi float64
		for r := range 4 {
			for c := range 4 {
				if inbandKeys[r][c] == k {
					lo, hi = inbandRows[r], inbandCols[c]
				}
			}
		}
		lo, hi = lo*s.freqScale, hi*s.freqScale
		for i := range s.onMS * 8 {
			t := float64(i) / inbandSampleRate
			v := s.lowAmp*math.Sin(2*math.Pi*lo*t) + s.highAmp*math.Sin(2*math.Pi*hi*t)
			out = append(out, int16(v))
		}
		out = append(out, make([]int16, s.offMS*8)...)
	}
	return out
}

func detectAll(pcm []int16, chunk int) string {
	d := newInbandDetector()
	var got []byte
	for len(pcm) > 0 {
		n := min(chunk, len(pcm))
		d.Feed(pcm[:n], func(k byte) { got = append(got, k) })
		pcm = pcm[n:]
	}
	return string(got)
}

func dB(x float64) float64 { return math.Pow(10, x/20) }

func TestInbandDetect(t *testing.T) {
	with := func(f func(*dtmfSpec)) dtmfSpec { s := normalKeys; f(&s); return s }
	tests := []struct {
		name string
		keys string
		spec dtmfSpec
		want string
	}{
		{"all keys", "123A456B789C*0#D", normalKeys, "123A456B789C*0#D"},
		{"40 ms tones, 40 ms pauses (Q.24 minimum)", "1234567890", with(func(s *dtmfSpec) { s.onMS, s.offMS = 40, 40 }), "1234567890"},
		{"same key after 40 ms pause", "5555", with(func(s *dtmfSpec) { s.onMS, s.offMS = 60, 40 }), "5555"},
		{"23 ms tones rejected", "1234", with(func(s *dtmfSpec) { s.onMS = 23 }), ""},
		{"10 ms tones rejected", "1234", with(func(s *dtmfSpec) { s.onMS = 10 }), ""},
		{"long key reported once", "9", with(func(s *dtmfSpec) { s.onMS = 2000 }), "9"},
		{"+1.5% frequency", "147*2580369#", with(func(s *dtmfSpec) { s.freqScale = 1.015 }), "147*2580369#"},
		{"-1.5% frequency", "147*2580369#", with(func(s *dtmfSpec) { s.freqScale = 0.985 }), "147*2580369#"},
		{"forward twist +4 dB", "159#", with(func(s *dtmfSpec) { s.highAmp = s.lowAmp * dB(3.5) }), "159#"},
		{"reverse twist -8 dB", "159#", with(func(s *dtmfSpec) { s.highAmp = s.lowAmp * dB(-7.5) }), "159#"},
		{"forward twist +8 dB rejected", "159#", with(func(s *dtmfSpec) { s.highAmp = s.lowAmp * dB(8) }), ""},
		{"reverse twist -12 dB rejected", "159#", with(func(s *dtmfSpec) { s.highAmp = s.lowAmp * dB(-12) }), ""},
		{"quiet keys (-30 dBm0 per tone)", "2468", with(func(s *dtmfSpec) { s.lowAmp, s.highAmp = 700, 700 }), "2468"},
		{"too quiet", "2468", with(func(s *dtmfSpec) { s.lowAmp, s.highAmp = 150, 150 }), ""},
		{"row tone alone", "1", with(func(s *dtmfSpec) { s.highAmp = 0 }), ""},
		{"column tone alone", "1", with(func(s *dtmfSpec) { s.lowAmp = 0 }), ""},
	}
	for _, tt := range tests {
		pcm := genDTMF(tt.keys, tt.spec)
		for _, chunk := range []int{160, 7, len(pcm)} {
			if got := detectAll(pcm, chunk); got != tt.want {
				t.Errorf("%s (chunks of %d): got %q, want %q", tt.name, chunk, got, tt.want)
			}
		}
	}
}

// A 10 ms drop-out inside a key (a lost packet concealed as silence) does
// not make it two keys.
func TestInbandDropOut(t *testing.T) {
	pcm := genDTMF("7", dtmfSpec{onMS: 200, offMS: 100, lowAmp: 6000, highAmp: 6000, freqScale: 1})
	clear(pcm[800+800 : 800+880])
	if got := detectAll(pcm, 160); got != "7" {
		t.Errorf("got %q, want %q", got, "7")
	}
}

// Keys in white noise at about 15 dB SNR are still found.
func TestInbandNoise(t *testing.T) {
	pcm := genDTMF("3690", normalKeys)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range pcm {
		pcm[i] += int16(rng.NormFloat64() * 800)
	}
	if got := detectAll(pcm, 160); got != "3690" {
		t.Errorf("got %q, want %q", got, "3690")
	}
}

// Speech (the recorded prompts in both languages, a dial tone, and a chord
// of two non-DTMF tones) must never produce a key.
func TestInbandNoFalseKeys(t *testing.T) {
	set, err := prompts.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range set.Langs() {
		for _, p := range []dialplan.Prompt{dialplan.PromptEnterPIN, dialplan.PromptWrongPIN, dialplan.PromptWelcome, dialplan.PromptGoodbye} {
			pcm := set.Prompt(lang, p)
			if len(pcm) == 0 {
				t.Fatalf("prompt %v in %s is empty", p, lang)
			}
			if got := detectAll(pcm, 160); got != "" {
				t.Errorf("prompt %v in %s: got keys %q, want none", p, lang, got)
			}
		}
	}
	for _, f := range [][2]float64{{350, 440}, {480, 620}, {1000, 1000}, {600, 1100}} {
		pcm := make([]int16, 8000)
		for i := range pcm {
			x := float64(i) / inbandSampleRate
			pcm[i] = int16(5000*math.Sin(2*math.Pi*f[0]*x) + 5000*math.Sin(2*math.Pi*f[1]*x))
		}
		if got := detectAll(pcm, 160); got != "" {
			t.Errorf("tones %v Hz: got keys %q, want none", f, got)
		}
	}
}

func TestInbandNoAllocs(t *testing.T) {
	d := newInbandDetector()
	pcm := genDTMF("1", normalKeys)
	var n int
	report := func(byte) { n++ }
	if a := testing.AllocsPerRun(10, func() { d.Feed(pcm, report) }); a != 0 {
		t.Errorf("Feed allocates %v times per call, want 0", a)
	}
}

func BenchmarkInbandFeed20ms(b *testing.B) {
	d := newInbandDetector()
	pcm := genDTMF("1", normalKeys)[:160]
	report := func(byte) {}
	for b.Loop() {
		d.Feed(pcm, report)
	}
}

// A caller whose trunk negotiates no telephone-event types the PIN as tones
// in the audio and joins.
func TestInbandPINJoins(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	p.noEvents = true
	p.call(roomNumber)
	p.waitLoudAudio(testWaitLong)
	p.sendPCM(genDTMF("1234#", normalKeys))
	j := env.waitJoin(t)
	if j.slug != "standup" {
		t.Errorf("joined %q, want standup", j.slug)
	}
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}

// Keys typed in the meeting are detected and do not reach the room as
// tones, while the caller's voice before and after does.
func TestInbandKeysKeptOutOfRoom(t *testing.T) {
	peer := loopbackUDP(t)
	conn, err := listenRTP(netip.MustParseAddr("127.0.0.1"), 31000, 31100)
	if err != nil {
		t.Fatal(err)
	}
	s := newRTPSession(conn, Media{Codec: PCMU, PT: 0, EventPT: -1, Remote: addrPort(peer)}, testLogger())
	defer s.Close()
	m := &recordMember{got: make(chan struct{}, 512)}
	s.SetMembership(m)
	voice := tone(300, 10*mixer.NarrowSamples)
	keys := genDTMF("*6", dtmfSpec{onMS: 200, offMS: 200, lowAmp: 6000, highAmp: 6000, freqScale: 1})
	pcm := append(append(append([]int16(nil), voice...), keys[800:]...), voice...)
	frames := len(pcm) / mixer.NarrowSamples
	for i := range frames {
		payload := make([]byte, mixer.NarrowSamples)
		EncodeULaw(payload, pcm[i*mixer.NarrowSamples:])
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i),
			Timestamp: uint32(i * mixer.NarrowSamples), SSRC: 9}, Payload: payload}).Marshal()
		if _, err := peer.WriteToUDP(b, conn.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
	}
	for range frames {
		select {
		case <-m.got:
		case <-time.After(5 * time.Second):
			t.Fatal("too few frames reached the room")
		}
	}
	var digits []byte
	for len(s.digits) > 0 {
		digits = append(digits, <-s.digits)
	}
	if string(digits) != "*6" {
		t.Errorf("digits %q, want %q", digits, "*6")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	loudVoice, loudKeys := 0, 0
	for i, f := range m.frames {
		if rms(f) < 1000 {
			continue
		}
		if i < 10 || i >= frames-10 {
			loudVoice++
		} else {
			loudKeys++
		}
	}
	if loudVoice < 18 {
		t.Errorf("%d of 20 voice frames reached the room, want at least 18", loudVoice)
	}
	if loudKeys > 2 {
		t.Errorf("%d frames of key tones reached the room, want at most 2 (one per key)", loudKeys)
	}
}
