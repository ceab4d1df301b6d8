package mixer

import (
	"io"
	"log/slog"
	"math"
	"slices"
	"testing"
	"time"
)

// clockMixer is a mixer with a manual tick and a clock the test advances.
type clockMixer struct {
	*Mixer
	sfu *fakeSFU
	now time.Time
}

func newClockMixer(t *testing.T, talkers int) *clockMixer {
	t.Helper()
	c := &clockMixer{sfu: newFakeSFU(), now: time.Unix(1000, 0)}
	c.Mixer = NewWith(c.sfu, Config{Talkers: talkers, Now: func() time.Time { return c.now }},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	c.manualTick = true
	t.Cleanup(func() { c.Close() })
	return c
}

// tick runs one mixing tick of room id and advances the clock by 20 ms.
func (c *clockMixer) tick(id string) {
	c.rooms[id].mixOnce(c.now)
	c.now = c.now.Add(FrameDuration)
}

// TestTopTalkersShareOneMix: of five callers at different levels only the
// three loudest are heard; every non-talker hears the same frame, and a talker
// hears the others but not itself.
func TestTopTalkersShareOneMix(t *testing.T) {
	c := newClockMixer(t, 3)
	freqs := []float64{300, 500, 700, 900, 1100}
	amps := []float64{1000, 2000, 4000, 6000, 8000} // 300 and 500 Hz are the quietest
	var mems []*Member
	var legs []*recLeg
	for i := range freqs {
		l := &recLeg{}
		m, err := c.Join("r", PhoneInfo{ID: string(rune('a' + i))}, l)
		if err != nil {
			t.Fatal(err)
		}
		mems, legs = append(mems, m), append(legs, l)
	}
	listener := &recLeg{}
	quiet, _ := c.Join("r", PhoneInfo{ID: "listener"}, listener)
	for k := 0; k < 50; k++ {
		for i, m := range mems {
			m.Push(tone(freqs[i], NarrowRate, NarrowSamples, amps[i], k*NarrowSamples))
		}
		quiet.Push(constFrame(0))
		c.tick("r")
	}
	heard := listener.concat(10)
	for i, f := range freqs {
		share := toneShare(heard, f)
		if talk := i >= 2; talk && share < 0.05 {
			t.Errorf("listener: %v Hz has %.3f of the power, want it heard (a top-3 talker)", f, share)
		} else if !talk && share > 0.001 {
			t.Errorf("listener: %v Hz has %.4f of the power, want none (not a talker)", f, share)
		}
	}
	// Non-talkers a and b hear exactly what the listener hears.
	for _, i := range []int{0, 1} {
		if !slices.Equal(legs[i].last(), listener.last()) {
			t.Errorf("non-talker %d hears a different mix from the listener", i)
		}
	}
	// Talker e (1100 Hz) hears 700 and 900 Hz but not itself.
	e := legs[4].concat(10)
	if s := toneShare(e, 1100); s > 0.001 {
		t.Errorf("talker hears itself: %.4f of the power at 1100 Hz", s)
	}
	if s := toneShare(e, 900); s < 0.1 {
		t.Errorf("talker hears the other talkers: %.3f at 900 Hz, want > 0.1", s)
	}
}

// toneShare is the share of pcm's power at freq (Goertzel over the whole
// signal against its total energy).
func toneShare(pcm []int16, freq float64) float64 {
	w := 2 * math.Cos(2*math.Pi*freq/NarrowRate)
	var s1, s2, e float64
	for _, v := range pcm {
		s0 := float64(v) + w*s1 - s2
		s2, s1 = s1, s0
		e += float64(v) * float64(v)
	}
	if e == 0 {
		return 0
	}
	p := s1*s1 + s2*s2 - w*s1*s2
	return 2 * p / (float64(len(pcm)) * e)
}

// TestPhoneLossConcealed: a lost frame of a talking caller is concealed with
// its pitch instead of a gap of silence, and counted.
func TestPhoneLossConcealed(t *testing.T) {
	c := newClockMixer(t, 3)
	talker, _ := c.Join("r", PhoneInfo{ID: "a"}, &recLeg{})
	listener := &recLeg{}
	quiet, _ := c.Join("r", PhoneInfo{ID: "b"}, listener)
	for k := 1; k <= 30; k++ {
		if k != 15 { // frame 15 never arrives
			talker.PushSeq(uint16(k), tone(200, NarrowRate, NarrowSamples, 8000, k*NarrowSamples))
		}
		quiet.PushSeq(uint16(k), constFrame(0))
		c.tick("r")
	}
	if got := c.stats.lost.Load(); got != 1 {
		t.Errorf("lost frames: got %d, want 1", got)
	}
	for i, f := range listener.frames[5:28] {
		if r := math.Sqrt(float64(level(f))); r < 3000 {
			t.Errorf("listener frame %d: rms %.0f, want the tone continued (about 5657)", i+5, r)
		}
	}
}

// TestPhoneOpusOnlyWhileTalking: silence costs no Opus encode.
func TestPhoneOpusOnlyWhileTalking(t *testing.T) {
	c := newClockMixer(t, 3)
	m, _ := c.Join("r", PhoneInfo{ID: "a"}, &recLeg{})
	for range 100 {
		m.Push(constFrame(20)) // line noise, -64 dBov
	}
	if got := len(c.sfu.tracks["a"].packets); got != 0 {
		t.Errorf("Opus packets for silence: got %d, want 0", got)
	}
	for k := range 10 {
		m.Push(tone(440, NarrowRate, NarrowSamples, 8000, k*NarrowSamples))
	}
	if got := len(c.sfu.tracks["a"].packets); got != 10 {
		t.Errorf("Opus packets for speech: got %d, want 10", got)
	}
	if got := c.stats.encodes.Load(); got != 10 {
		t.Errorf("encode counter: got %d, want 10", got)
	}
}

// FuzzJitter feeds arbitrary packet schedules to a jitter buffer: it must not
// panic, must play each sequence number at most once and in order, and must
// stay within its slots.
func FuzzJitter(f *testing.F) {
	f.Add([]byte{1, 0, 2, 20, 4, 40, 3, 41, 255, 90})
	f.Add([]byte{0, 0, 0, 0, 200, 1, 100, 2})
	f.Fuzz(func(t *testing.T, ops []byte) {
		j := newJitterCore(&counters{})
		var seqs [jbSlots]uint16
		now := time.Unix(0, 0)
		last, played := uint16(0), false
		for i := 0; i+1 < len(ops); i += 2 {
			seq := uint16(ops[i]) * 3
			now = now.Add(time.Duration(ops[i+1]) * time.Millisecond)
			if idx, ok := j.insert(seq, now); ok {
				seqs[idx] = seq
			}
			if j.nTransit == 1 { // a new stream (restart): order starts afresh
				played = false
			}
			if ops[i+1]%2 == 0 {
				continue
			}
			idx, res := j.pop(now)
			if res != popFrame && res != popDrop {
				continue
			}
			s := seqs[idx]
			if played && int16(s-last) <= 0 {
				t.Fatalf("played %d after %d", s, last)
			}
			last, played = s, true
			if d := j.depth(); d > jbSlots {
				t.Fatalf("depth %d > %d slots", d, jbSlots)
			}
		}
	})
}

// TestDueTicks checks the loop's catch-up arithmetic: on time one tick, late
// by whole frames as many more (up to maxCatchUp), early none.
func TestDueTicks(t *testing.T) {
	base := time.Unix(1000, 0)
	ms := time.Millisecond
	cases := []struct {
		name     string
		late     time.Duration // now - next
		due      int
		nextFrom time.Duration // the returned next, relative to the old next
	}{
		{"on time", 0, 1, 20 * ms},
		{"timer jitter late", 9 * ms, 1, 20 * ms},
		{"timer jitter early", -9 * ms, 1, 20 * ms},
		{"early", -11 * ms, 0, 0},
		{"one frame late", 20 * ms, 2, 40 * ms},
		{"two frames late", 47 * ms, 3, 60 * ms},
		{"four frames late", 80 * ms, 5, 100 * ms},
		{"far behind", 500 * ms, maxCatchUp, 520 * ms}, // counts from now
	}
	for _, c := range cases {
		due, next := dueTicks(base.Add(c.late), base)
		if due != c.due || !next.Equal(base.Add(c.nextFrom)) {
			t.Errorf("%s: dueTicks = %d, next %v; want %d, next %v", c.name, due,
				next.Sub(base), c.due, c.nextFrom)
		}
	}
}
