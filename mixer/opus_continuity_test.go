package mixer

import (
	"testing"

	"gopkg.in/hraban/opus.v2"

	"dialroom/internal/opusenc"
)

// The Opus settings of the sip package's phone legs.
const (
	opusTestBitrate    = 28000
	opusTestLoss       = 5
	opusTestComplexity = 5
)

// opusCopyEnc is a StateCopier like sip's Opus encoder.
type opusCopyEnc struct{ *opusenc.Encoder }

func newOpusCopyEnc() (Encoder, error) {
	e, err := opusenc.New(SampleRate, 1, opusenc.AppVoIP)
	if err != nil {
		return nil, err
	}
	for _, err := range []error{
		e.SetBitrate(opusTestBitrate), e.SetInBandFEC(true), e.SetPacketLossPerc(opusTestLoss),
		e.SetComplexity(opusTestComplexity), e.SetMaxBandwidth(opusenc.Wideband),
	} {
		if err != nil {
			e.Free()
			return nil, err
		}
	}
	return opusCopyEnc{e}, nil
}

func (e opusCopyEnc) Close() error { e.Free(); return nil }
func (e opusCopyEnc) NewCopy() (Encoder, error) {
	c, err := e.Encoder.NewCopy()
	if err != nil {
		return nil, err
	}
	return opusCopyEnc{c}, nil
}
func (e opusCopyEnc) CopyStateFrom(src Encoder) bool {
	s, ok := src.(opusCopyEnc)
	return ok && e.Encoder.CopyStateFrom(s.Encoder) == nil
}

// opusPlainEnc is an Opus encoder whose state cannot be copied (hraban/opus
// keeps it in Go memory): what Opus legs had before opusenc.
type opusPlainEnc struct{ *opus.Encoder }

func newOpusPlainEnc() (Encoder, error) {
	e, err := opus.NewEncoder(SampleRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, err
	}
	for _, err := range []error{
		e.SetBitrate(opusTestBitrate), e.SetInBandFEC(true), e.SetPacketLossPerc(opusTestLoss),
		e.SetComplexity(opusTestComplexity), e.SetMaxBandwidth(opus.Wideband),
	} {
		if err != nil {
			return nil, err
		}
	}
	return opusPlainEnc{e}, nil
}

func (e opusPlainEnc) Encode(dst []byte, pcm []int16) (int, error) { return e.Encoder.Encode(pcm, dst) }

// opusLeg is an Opus phone: it decodes the packets it is sent with one
// libopus decoder and keeps the audio the mixer meant it to hear.
type opusLeg struct {
	t      *testing.T
	newEnc func() (Encoder, error)
	dec    *opus.Decoder
	shared *Frame  // the room's shared Frame, when known
	onRoom []bool  // per tick: the leg was sent the room's shared stream
	pcm    []int16 // what the phone decoded
	in     []int16 // the 16 kHz audio it was sent
	buf    [FrameSamples]int16
}

func newOpusLeg(t *testing.T, newEnc func() (Encoder, error)) *opusLeg {
	d, err := opus.NewDecoder(SampleRate, 1)
	if err != nil {
		t.Fatal(err)
	}
	return &opusLeg{t: t, newEnc: newEnc, dec: d}
}

func (l *opusLeg) WriteAudio([]int16) { panic("WriteAudio called on a FrameLeg") }
func (l *opusLeg) WriteFrame(f *Frame) {
	b := f.EncodedWith(3, l.newEnc)
	l.onRoom = append(l.onRoom, f == l.shared)
	l.in = append(l.in, f.Wide()...)
	n, err := l.dec.Decode(b, l.buf[:])
	if err != nil || n != FrameSamples {
		l.t.Errorf("decode: %d samples, %v", n, err)
	}
	l.pcm = append(l.pcm, l.buf[:FrameSamples]...)
}

// spellDiff is how far an Opus caller's decoded audio strays from one
// continuous encoder's: peaks (sample units) and the ticks they occur at.
type spellDiff struct {
	own, ownAt int // while on its own stream (talk spell and hand-over)
	back       int // the tick it went back to the room's stream
	// After back: the difference from what listener l decoded (its decoder
	// followed the room's stream throughout), so the seam of the switch.
	room, roomAt int
	roomTicks    int // ticks after back with a difference above 100
	roomLast     int // the difference in the last tick
}

// opusSpells runs an Opus caller a that listens, talks (ticks start to
// stop), and listens again while b talks throughout and l listens (so the
// room's shared stream is encoded every tick), and compares what a's phone
// decoded with one continuous encoder and decoder over all the audio a was
// sent until it goes back to the room's stream, and with what l decoded
// after that.
func opusSpells(t *testing.T, newEnc func() (Encoder, error)) spellDiff {
	c := newClockMixer(t, 3)
	a, b, l := newOpusLeg(t, newEnc), newOpusLeg(t, newEnc), newOpusLeg(t, newEnc)
	ma, _ := c.Join("r", PhoneInfo{ID: "a"}, a)
	mb, _ := c.Join("r", PhoneInfo{ID: "b"}, b)
	c.Join("r", PhoneInfo{ID: "l"}, l)
	a.shared = &c.rooms["r"].shared
	const ticks, start, stop = 260, 30, 70
	talkSpell(c, ma, mb, ticks, start, stop)
	if len(a.in) != ticks*FrameSamples {
		t.Fatalf("a was sent %d samples, want %d", len(a.in), ticks*FrameSamples)
	}
	own := start // the first tick a has its own stream
	for own < stop && a.onRoom[own] {
		own++
	}
	var r spellDiff
	r.back = own
	for r.back < ticks && !a.onRoom[r.back] {
		r.back++
	}
	if own == stop || r.back == ticks {
		t.Fatalf("a was not on its own stream during its spell and back on the room's after it (own from tick %d, back at %d)", own, r.back)
	}
	enc, err := newOpusCopyEnc()
	if err != nil {
		t.Fatal(err)
	}
	defer closeEncoder(enc)
	dec, err := opus.NewDecoder(SampleRate, 1)
	if err != nil {
		t.Fatal(err)
	}
	var bits [MaxEncodedBytes]byte
	ref := make([]int16, FrameSamples)
	for k := range ticks {
		n, err := enc.Encode(bits[:], a.in[k*FrameSamples:(k+1)*FrameSamples])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dec.Decode(bits[:n], ref); err != nil {
			t.Fatal(err)
		}
		worst := 0
		for j, v := range ref {
			d := int(a.pcm[k*FrameSamples+j]) - int(v)
			worst = max(worst, d, -d)
		}
		if k < r.back && worst > r.own {
			r.own, r.ownAt = worst, k
		}
		if k < r.back {
			continue
		}
		worst = 0
		for j := k * FrameSamples; j < (k+1)*FrameSamples; j++ {
			d := int(a.pcm[j]) - int(l.pcm[j])
			worst = max(worst, d, -d)
		}
		if worst > r.room {
			r.room, r.roomAt = worst, k
		}
		if worst > 100 {
			r.roomTicks++
		}
		r.roomLast = worst
	}
	return r
}

// TestOpusStreamContinuousThroughTalkSpells: an Opus caller that listens,
// talks and listens again decodes, until it goes back to the room's stream,
// exactly what one continuous encoder would have sent it: at the start of
// its talk spell its own encoder takes over the room's encoder's state. An
// encoder that cannot copy (hraban/opus, the reference of the figures)
// leaves a seam there. Going back to the room's stream after the hand-over
// leaves a small one either way (the two encoders were fed the same audio
// for handoverTicks, but their states are not equal): a's phone then hears
// what a listener hears, within the codec's noise (its decoder's state
// differs slightly from the listener's and keeps a trace of the seam).
func TestOpusStreamContinuousThroughTalkSpells(t *testing.T) {
	cp := opusSpells(t, newOpusCopyEnc)
	plain := opusSpells(t, newOpusPlainEnc)
	for _, x := range []struct {
		name string
		d    spellDiff
	}{{"with the state copy", cp}, {"without (fresh encoder)", plain}} {
		t.Logf("%s: largest difference from one continuous stream %d (tick %d) on its own stream; "+
			"back on the room's at tick %d: from a listener's %d (tick %d), %d ticks above 100, %d in the last tick",
			x.name, x.d.own, x.d.ownAt, x.d.back, x.d.room, x.d.roomAt, x.d.roomTicks, x.d.roomLast)
	}
	if cp.own != 0 {
		t.Errorf("with the state copy a's audio differs from one continuous stream by %d at tick %d before it went back to the room's stream, want 0", cp.own, cp.ownAt)
	}
	if plain.own == 0 {
		t.Errorf("without the state copy the difference is 0 too: the test cannot see a seam")
	}
	if cp.room > 1000 || cp.roomLast > 50 {
		t.Errorf("back on the room's stream a's audio differs from a listener's by %d at tick %d and %d at the end, want <= 1000 and <= 50",
			cp.room, cp.roomAt, cp.roomLast)
	}
}
