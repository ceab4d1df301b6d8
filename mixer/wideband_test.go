package mixer

import (
	"errors"
	"testing"

	"github.com/pion/rtp"
	"gopkg.in/hraban/opus.v2"

	"dialroom/internal/g722"
)

// wideLeg is a wideband FrameLeg: it records the 16 kHz audio it gets (as a
// G.722 or Opus leg would encode it).
type wideLeg struct{ pcm []int16 }

func (l *wideLeg) WriteAudio([]int16)  { panic("WriteAudio called on a FrameLeg") }
func (l *wideLeg) WriteFrame(f *Frame) { l.pcm = append(l.pcm, f.Wide()...) }

// share is the share of pcm's power at freq Hz, pcm sampled at rate.
func share(pcm []int16, freq float64, rate int) float64 {
	var e float64
	for _, v := range pcm {
		e += float64(v) * float64(v)
	}
	if e == 0 {
		return 0
	}
	a := toneAmplitude(pcm, freq, rate)
	return a * a / 2 / (e / float64(len(pcm)))
}

// TestWidebandStaysWideband: a wideband caller's 6 kHz tone (beyond what a
// phone line carries) reaches another wideband caller and the browsers, while
// a G.711 caller in the same room hears none of it — not even as an alias —
// but does hear the wideband caller's 1 kHz tone.
func TestWidebandStaysWideband(t *testing.T) {
	c := newClockMixer(t, 3)
	talkerLeg, wide, narrow := &wideLeg{}, &wideLeg{}, &recLeg{}
	talker, err := c.Join("r", PhoneInfo{ID: "talker"}, talkerLeg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Join("r", PhoneInfo{ID: "wide"}, wide); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Join("r", PhoneInfo{ID: "narrow"}, narrow); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		pcm := tone(6000, SampleRate, FrameSamples, 6000, i*FrameSamples)
		for j, v := range tone(1000, SampleRate, FrameSamples, 6000, i*FrameSamples) {
			pcm[j] += v
		}
		talker.Push(pcm)
		c.tick("r")
	}
	w := wide.pcm[10*FrameSamples:]
	if s := share(w, 6000, SampleRate); s < 0.4 {
		t.Errorf("wideband listener: 6 kHz has %.3f of the power, want about half", s)
	}
	n := narrow.concat(10)
	if s := share(n, 1000, NarrowRate); s < 0.95 {
		t.Errorf("G.711 listener: 1 kHz has %.3f of the power, want nearly all", s)
	}
	if s := share(n, 2000, NarrowRate); s > 1e-4 { // 6 kHz folded at 8 kHz
		t.Errorf("G.711 listener: the 6 kHz tone aliased to 2 kHz with %.5f of the power", s)
	}
	// The browsers get the caller's voice as wideband Opus.
	dec, err := opus.NewDecoder(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr := c.sfu.tracks["talker"]
	var got []int16
	buf := make([]int16, 5760)
	for _, p := range tr.packets[10:] {
		n, err := dec.Decode(p, buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if s := share(got, 6000, 48000); s < 0.3 {
		t.Errorf("browsers: 6 kHz has %.3f of the caller's Opus, want it kept", s)
	}
}

// TestNarrowTalkerReachesWideListener: a G.711 caller (8 kHz) is upsampled
// into the mix: a wideband listener hears its tone cleanly, without the image
// at 8 kHz minus the tone that a poor interpolator leaves.
func TestNarrowTalkerReachesWideListener(t *testing.T) {
	c := newClockMixer(t, 3)
	wide := &wideLeg{}
	talker, _ := c.Join("r", PhoneInfo{ID: "talker"}, &recLeg{})
	c.Join("r", PhoneInfo{ID: "wide"}, wide)
	for i := range 40 {
		talker.Push(tone(3000, NarrowRate, NarrowSamples, 8000, i*NarrowSamples))
		c.tick("r")
	}
	w := wide.pcm[10*FrameSamples:]
	if s := share(w, 3000, SampleRate); s < 0.99 {
		t.Errorf("3 kHz has %.4f of the power, want nearly all", s)
	}
	if s := share(w, 5000, SampleRate); s > 1e-6 {
		t.Errorf("image at 5 kHz has %.2g of the power, want < 1e-6 (60 dB)", s)
	}
}

// TestBrowserWidebandToPhone: a browser's 6 kHz tone reaches a wideband leg
// (the mixer decodes browsers at 16 kHz).
func TestBrowserWidebandToPhone(t *testing.T) {
	c := newClockMixer(t, 3)
	wide := &wideLeg{}
	if _, err := c.Join("r", PhoneInfo{ID: "a"}, wide); err != nil {
		t.Fatal(err)
	}
	enc, err := opus.NewEncoder(48000, 1, opus.AppAudio)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	sink := c.sfu.sinks["r"]
	for i := range 40 {
		n, err := enc.Encode(tone(6000, 48000, 960, 10000, i*960), buf)
		if err != nil {
			t.Fatal(err)
		}
		sink.OnAudio("web-1", &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, Payload: buf[:n]})
		c.tick("r")
	}
	if s := share(wide.pcm[15*FrameSamples:], 6000, SampleRate); s < 0.8 {
		t.Errorf("6 kHz has %.3f of the power at the wideband leg, want nearly all", s)
	}
}

// TestCodecChangeMidCall: a caller whose codec changes from G.711 to a
// wideband one mid-call (a re-INVITE) is heard throughout, and loss after the
// change is concealed at the new rate.
func TestCodecChangeMidCall(t *testing.T) {
	c := newClockMixer(t, 3)
	listener := &wideLeg{}
	talker, _ := c.Join("r", PhoneInfo{ID: "talker"}, &recLeg{})
	c.Join("r", PhoneInfo{ID: "l"}, listener)
	seq := uint16(0)
	for i := range 20 {
		seq++
		talker.PushSeq(seq, tone(500, NarrowRate, NarrowSamples, 8000, i*NarrowSamples))
		c.tick("r")
	}
	for i := range 30 {
		seq++
		if i == 20 {
			seq++ // one frame lost
		}
		talker.PushSeq(seq, tone(500, SampleRate, FrameSamples, 8000, i*FrameSamples))
		c.tick("r")
	}
	// Every tick from the 3rd on carries the tone (no silent frame at the
	// change or at the loss).
	for k := 3; k*FrameSamples < len(listener.pcm); k++ {
		f := listener.pcm[k*FrameSamples : (k+1)*FrameSamples]
		if e := level(f); e < 1000*1000 {
			t.Errorf("tick %d: mean square %d, want the 500 Hz tone", k, e)
		}
	}
	if s := share(listener.pcm[25*FrameSamples:], 500, SampleRate); s < 0.9 {
		t.Errorf("after the change 500 Hz has %.3f of the power, want nearly all", s)
	}
}

// countEnc is an Encoder that counts its calls and writes the first sample's
// low byte, so tests can tell streams apart.
type countEnc struct{ calls *int }

func (e countEnc) Encode(dst []byte, pcm []int16) (int, error) {
	*e.calls++
	dst[0] = byte(pcm[0])
	return 1, nil
}

// TestEncodedWithKeepsEncoders: the shared Frame creates one stateful encoder
// per slot for the room and keeps it from tick to tick; listeners share its
// bytes; a talker's own Frame has its own; a failing constructor is not
// retried every tick.
func TestEncodedWithKeepsEncoders(t *testing.T) {
	c := newClockMixer(t, 3)
	var created, calls int
	newEnc := func() (Encoder, error) { created++; return countEnc{&calls}, nil }
	var got [][]byte
	leg := func(f *Frame) { got = append(got, f.EncodedWith(2, newEnc)) }
	talker, _ := c.Join("r", PhoneInfo{ID: "t"}, frameFunc(leg))
	for i := range 3 {
		c.Join("r", PhoneInfo{ID: string(rune('a' + i))}, frameFunc(leg))
	}
	for i := range 10 {
		if i == 2 { // the talker talks from the 2nd tick (the jitter buffer fills first)
			calls = 0
		}
		talker.Push(constFrame(3000))
		c.tick("r")
	}
	if created != 2 {
		t.Errorf("encoders created: %d, want 2 (the room's shared one and the talker's own)", created)
	}
	if calls != 16 {
		t.Errorf("encodes: %d in 8 ticks, want 16 (one shared, one own per tick)", calls)
	}
	var failed int
	f := NewFrame(constFrame(1))
	for range 5 {
		if b := f.EncodedWith(3, func() (Encoder, error) { failed++; return nil, errors.New("no codec") }); b != nil {
			t.Errorf("EncodedWith with a failing constructor: %v, want nil", b)
		}
		f.startTick(false)
	}
	if failed != 1 {
		t.Errorf("failing constructor called %d times, want once", failed)
	}
}

type frameFunc func(*Frame)

func (f frameFunc) WriteAudio([]int16)   {}
func (f frameFunc) WriteFrame(fr *Frame) { f(fr) }

// g722Leg is a wideband leg that encodes with G.722 through the Frame (as
// sip does) and decodes what it received with its own persistent decoder,
// as the caller's phone would.
type g722Leg struct {
	t   *testing.T
	dec *g722.Decoder
	pcm []int16 // what the phone decoded
	in  []int16 // the 16 kHz audio it was sent
	buf [FrameSamples]int16
}

func newG722Leg(t *testing.T) *g722Leg {
	d, err := g722.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Free)
	return &g722Leg{t: t, dec: d}
}

// g722Enc is a StateCopier like sip's G.722 encoder.
type g722Enc struct{ *g722.Encoder }

func (e g722Enc) Close() error { e.Free(); return nil }
func (e g722Enc) NewCopy() (Encoder, error) {
	c, err := g722.NewEncoder()
	if err != nil {
		return nil, err
	}
	return g722Enc{c}, c.CopyStateFrom(e.Encoder)
}
func (e g722Enc) CopyStateFrom(src Encoder) bool {
	s, ok := src.(g722Enc)
	return ok && e.Encoder.CopyStateFrom(s.Encoder) == nil
}

func (l *g722Leg) WriteAudio([]int16) { panic("WriteAudio called on a FrameLeg") }
func (l *g722Leg) WriteFrame(f *Frame) {
	b := f.EncodedWith(2, func() (Encoder, error) {
		e, err := g722.NewEncoder()
		return g722Enc{e}, err
	})
	l.in = append(l.in, f.Wide()...)
	n, err := l.dec.Decode(l.buf[:], b)
	if err != nil || n != FrameSamples {
		l.t.Errorf("decode: %d samples, %v", n, err)
	}
	l.pcm = append(l.pcm, l.buf[:FrameSamples]...)
}

// TestStatefulStreamSurvivesTalkerRelease: a G.722 caller that stops talking
// moves from its own encoder's stream to the room's; its phone must not hear
// the switch. After the release it hears what a listener hears, sample for
// sample within the codec's noise, through the whole hand-over and after it.
func TestStatefulStreamSurvivesTalkerRelease(t *testing.T) {
	c := newClockMixer(t, 3)
	a, b, l := newG722Leg(t), newG722Leg(t), newG722Leg(t)
	ma, _ := c.Join("r", PhoneInfo{ID: "a"}, a)
	mb, _ := c.Join("r", PhoneInfo{ID: "b"}, b)
	c.Join("r", PhoneInfo{ID: "l"}, l)
	const ticks, stop = 120, 40
	for i := range ticks {
		pa := make([]int16, FrameSamples)
		if i < stop {
			pa = tone(600, SampleRate, FrameSamples, 8000, i*FrameSamples)
		}
		ma.Push(pa)
		mb.Push(tone(1000, SampleRate, FrameSamples, 6000, i*FrameSamples))
		c.tick("r")
	}
	// From when a is released (hold time after its last word) the two
	// callers hear the same mix: b's tone.
	from := (stop + talkHold + 2) * FrameSamples
	worst, at := 0, 0
	for i := from; i < len(a.pcm); i++ {
		if d := int(a.pcm[i]) - int(l.pcm[i]); max(d, -d) > worst {
			worst, at = max(d, -d), i/FrameSamples
		}
	}
	t.Logf("after the release the caller's audio differs from a listener's by at most %d (tick %d)", worst, at)
	if worst > 200 {
		t.Errorf("difference %d at tick %d, want <= 200: the caller's decoder lost track of the stream", worst, at)
	}
}

// skipLeg is a narrowband FrameLeg that does not ask for the room's audio in
// some ticks (as a leg on hold or playing a prompt does).
type skipLeg struct {
	tick   int
	skip   func(tick int) bool
	frames map[int][]int16
}

func (l *skipLeg) WriteAudio([]int16) { panic("WriteAudio called on a FrameLeg") }
func (l *skipLeg) WriteFrame(f *Frame) {
	if !l.skip(l.tick) {
		l.frames[l.tick] = append([]int16(nil), f.PCM()...)
	}
	l.tick++
}

// TestNarrowMixJoinsAfterSkippedTicks: when no G.711 leg needed the room's
// 8 kHz mix for a while, the first frame it is needed again continues the
// audio as if it had been made every tick (no click from stale filter state).
func TestNarrowMixJoinsAfterSkippedTicks(t *testing.T) {
	c := newClockMixer(t, 3)
	talker, _ := c.Join("r", PhoneInfo{ID: "t"}, &wideLeg{})
	wide := &wideLeg{}
	c.Join("r", PhoneInfo{ID: "w"}, wide)
	narrow := &skipLeg{skip: func(i int) bool { return i >= 20 && i <= 30 }, frames: map[int][]int16{}}
	c.Join("r", PhoneInfo{ID: "n"}, narrow)
	for i := range 40 {
		// 1070 Hz: no whole number of periods per frame, so stale history
		// cannot pass for the real one.
		talker.Push(tone(1070, SampleRate, FrameSamples, 8000, i*FrameSamples))
		c.tick("r")
	}
	// The reference: the room's 16 kHz mix (what the wideband listener got)
	// downsampled without a break.
	var d Downsampler
	out := make([]int16, NarrowSamples)
	for i := 0; i*FrameSamples < len(wide.pcm); i++ {
		ref := d.Process(out, wide.pcm[i*FrameSamples:(i+1)*FrameSamples])
		got, ok := narrow.frames[i]
		if !ok {
			continue
		}
		for j := range ref {
			if diff := int(got[j]) - int(ref[j]); diff < -2 || diff > 2 {
				t.Fatalf("tick %d sample %d: %d, want %d (the 8 kHz mix lost its history)", i, j, got[j], ref[j])
			}
		}
	}
}

// talkSpell runs ticks ticks of room "r": ma talks (600 Hz) from tick start
// until stop and is silent otherwise, mb talks (1 kHz) throughout.
func talkSpell(c *clockMixer, ma, mb *Member, ticks, start, stop int) {
	for i := range ticks {
		pa := make([]int16, FrameSamples)
		if i >= start && i < stop {
			pa = tone(600, SampleRate, FrameSamples, 8000, i*FrameSamples)
		}
		ma.Push(pa)
		mb.Push(tone(1000, SampleRate, FrameSamples, 6000, i*FrameSamples))
		c.tick("r")
	}
}

// TestStatefulStreamContinuousThroughTalkSpells: a G.722 caller that listens,
// talks, and listens again is sent one stream its phone decodes exactly as
// if a single encoder had coded all the audio it was sent: at the start of a
// talk spell its own encoder takes over the room's state (StateCopier), at
// the end the hand-over lets the two converge.
func TestStatefulStreamContinuousThroughTalkSpells(t *testing.T) {
	c := newClockMixer(t, 3)
	a, b := newG722Leg(t), newG722Leg(t)
	ma, _ := c.Join("r", PhoneInfo{ID: "a"}, a)
	mb, _ := c.Join("r", PhoneInfo{ID: "b"}, b)
	const ticks, start, stop = 140, 30, 70
	talkSpell(c, ma, mb, ticks, start, stop)
	// The reference: one encoder and one decoder over everything a was sent.
	enc, err := g722.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Free()
	dec, err := g722.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Free()
	var bits [FrameSamples / 2]byte
	ref := make([]int16, FrameSamples)
	worst, at := 0, 0
	for k := 0; (k+1)*FrameSamples <= len(a.in); k++ {
		n, _ := enc.Encode(bits[:], a.in[k*FrameSamples:(k+1)*FrameSamples])
		dec.Decode(ref, bits[:n])
		for j, v := range ref {
			if d := int(a.pcm[k*FrameSamples+j]) - int(v); max(d, -d) > worst {
				worst, at = max(d, -d), k
			}
		}
		if k == stop+talkHold && worst != 0 {
			t.Errorf("by the end of the talk spell a's audio differs from one continuous stream by %d (tick %d), want 0", worst, at)
		}
	}
	t.Logf("largest difference from one continuous stream: %d (tick %d)", worst, at)
	if worst > 200 {
		t.Errorf("difference %d at tick %d, want <= 200", worst, at)
	}
}
