package mixer

import (
	"errors"
	"testing"

	"github.com/pion/rtp"
	"gopkg.in/hraban/opus.v2"
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
