package mixer

import (
	"io"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"gopkg.in/hraban/opus.v2"
)

// fakeSFU records what the mixer publishes; it stands in for *sfu.Manager.
type fakeSFU struct {
	mu     sync.Mutex
	tracks map[string]*fakeTrack
	sinks  map[string]AudioSink
}

func newFakeSFU() *fakeSFU {
	return &fakeSFU{tracks: map[string]*fakeTrack{}, sinks: map[string]AudioSink{}}
}

func (f *fakeSFU) AddPhone(roomID string, info PhoneInfo) (PhoneTrack, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTrack{}
	f.tracks[info.ID] = t
	return t, nil
}

func (f *fakeSFU) AddAudioSink(roomID string, sink AudioSink) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sinks[roomID] = sink
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.sinks, roomID)
	}
}

type fakeTrack struct {
	mu       sync.Mutex
	packets  [][]byte
	speaking []bool
	muted    []bool
	left     bool
}

func (t *fakeTrack) SetMuted(m bool) { t.mu.Lock(); t.muted = append(t.muted, m); t.mu.Unlock() }

func (t *fakeTrack) WriteOpus(p []byte, d time.Duration) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.packets = append(t.packets, append([]byte(nil), p...))
	return nil
}
func (t *fakeTrack) SetSpeaking(s bool) {
	t.mu.Lock()
	t.speaking = append(t.speaking, s)
	t.mu.Unlock()
}
func (t *fakeTrack) Leave() { t.mu.Lock(); t.left = true; t.mu.Unlock() }

// recLeg records every frame the mixer sends it.
type recLeg struct{ frames [][]int16 }

func (l *recLeg) WriteAudio(pcm []int16) { l.frames = append(l.frames, append([]int16(nil), pcm...)) }

func (l *recLeg) last() []int16 { return l.frames[len(l.frames)-1] }

func (l *recLeg) concat(from int) []int16 {
	var out []int16
	for _, f := range l.frames[from:] {
		out = append(out, f...)
	}
	return out
}

func newTestMixer(t *testing.T) (*Mixer, *fakeSFU) {
	t.Helper()
	s := newFakeSFU()
	m := New(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	m.manualTick = true
	t.Cleanup(func() { m.Close() })
	return m, s
}

func constFrame(v int16) []int16 {
	f := make([]int16, NarrowSamples)
	for i := range f {
		f[i] = v
	}
	return f
}

// tone returns n samples of a sine at freq Hz and the given amplitude.
func tone(freq float64, rate, n int, amp float64, phase int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(phase+i)/float64(rate)))
	}
	return out
}

// dominant returns the frequency (10 Hz steps, 100-3500 Hz) with the most energy.
func dominant(pcm []int16, rate int) float64 {
	best, bestF := 0.0, 0.0
	for f := 100.0; f <= 3500 && f < float64(rate)/2; f += 10 {
		w := 2 * math.Cos(2*math.Pi*f/float64(rate))
		var s1, s2 float64
		for _, v := range pcm {
			s0 := float64(v) + w*s1 - s2
			s2, s1 = s1, s0
		}
		if p := s1*s1 + s2*s2 - w*s1*s2; p > best {
			best, bestF = p, f
		}
	}
	return bestF
}

func TestNMinusOne(t *testing.T) {
	m, _ := newTestMixer(t)
	values := map[string]int16{"a": 1000, "b": 2000, "c": 4000}
	legs := map[string]*recLeg{}
	mems := map[string]*Member{}
	for id := range values {
		legs[id] = &recLeg{}
		mem, err := m.Join("room", PhoneInfo{ID: id}, legs[id])
		if err != nil {
			t.Fatal(err)
		}
		mems[id] = mem
	}
	// A few frames, so that the resampling between the 8 kHz legs and the
	// 16 kHz mix (4 ms of filter delay) has settled.
	for range 5 {
		for id, v := range values {
			mems[id].Push(constFrame(v))
		}
		m.rooms["room"].mixOnce(time.Now())
	}
	want := map[string]int{"a": 6000, "b": 5000, "c": 3000}
	for id, leg := range legs {
		for i, got := range leg.last() {
			if d := int(got) - want[id]; d < -3 || d > 3 {
				t.Errorf("leg %s: sample %d is %d, want %d (sum of the others)", id, i, got, want[id])
				break
			}
		}
	}
}

func TestCallerNeverHearsItself(t *testing.T) {
	m, _ := newTestMixer(t)
	la, lb := &recLeg{}, &recLeg{}
	a, _ := m.Join("r", PhoneInfo{ID: "a"}, la)
	b, _ := m.Join("r", PhoneInfo{ID: "b"}, lb)
	for i := 0; i < 20; i++ {
		a.Push(tone(440, NarrowRate, NarrowSamples, 8000, i*NarrowSamples))
		b.Push(tone(1000, NarrowRate, NarrowSamples, 8000, i*NarrowSamples))
		m.rooms["r"].mixOnce(time.Now())
	}
	if got := dominant(la.concat(2), NarrowRate); math.Abs(got-1000) > 20 {
		t.Errorf("a hears %v Hz, want 1000 (b's tone, not its own 440)", got)
	}
	if got := dominant(lb.concat(2), NarrowRate); math.Abs(got-440) > 20 {
		t.Errorf("b hears %v Hz, want 440", got)
	}
}

func TestBrowserAudioReachesPhones(t *testing.T) {
	m, s := newTestMixer(t)
	leg := &recLeg{}
	if _, err := m.Join("r", PhoneInfo{ID: "a"}, leg); err != nil {
		t.Fatal(err)
	}
	// A browser sends 48 kHz Opus, 20 ms per packet.
	enc, err := opus.NewEncoder(48000, 1, opus.AppVoIP)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	sink := s.sinks["r"]
	for i := 0; i < 30; i++ {
		n, err := enc.Encode(tone(660, 48000, 960, 10000, i*960), buf)
		if err != nil {
			t.Fatal(err)
		}
		sink.OnAudio("web-1", &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(1000 + i), Timestamp: uint32(i * 960)}, Payload: buf[:n]})
		m.rooms["r"].mixOnce(time.Now())
	}
	if got := dominant(leg.concat(10), NarrowRate); math.Abs(got-660) > 20 {
		t.Errorf("phone hears %v Hz, want 660 (the browser's tone)", got)
	}
}

func TestPhoneVoicePublishedAsOpus(t *testing.T) {
	m, s := newTestMixer(t)
	mem, _ := m.Join("r", PhoneInfo{ID: "a"}, &recLeg{})
	for i := 0; i < 25; i++ {
		mem.Push(tone(440, NarrowRate, NarrowSamples, 8000, i*NarrowSamples))
	}
	tr := s.tracks["a"]
	if len(tr.packets) != 25 {
		t.Fatalf("got %d Opus packets, want 25", len(tr.packets))
	}
	dec, _ := opus.NewDecoder(48000, 1)
	var pcm []int16
	frame := make([]int16, 960)
	for _, p := range tr.packets {
		n, err := dec.Decode(p, frame)
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(pcm, frame[:n]...)
	}
	if got := dominant(pcm[4800:], 48000); math.Abs(got-440) > 20 {
		t.Errorf("browsers would hear %v Hz, want 440", got)
	}
	if len(tr.speaking) == 0 || !tr.speaking[0] {
		t.Errorf("speaking changes: got %v, want [true]", tr.speaking)
	}
	for i := 0; i < releaseFrames; i++ {
		mem.Push(constFrame(0))
	}
	if got := tr.speaking; len(got) != 2 || got[1] {
		t.Errorf("speaking after silence: got %v, want [true false]", got)
	}
}

func TestLastLeaveStopsRoom(t *testing.T) {
	m, s := newTestMixer(t)
	a, _ := m.Join("r", PhoneInfo{ID: "a"}, &recLeg{})
	b, _ := m.Join("r", PhoneInfo{ID: "b"}, &recLeg{})
	a.Leave()
	a.Leave() // idempotent
	if s.sinks["r"] == nil || m.rooms["r"] == nil {
		t.Fatal("room stopped while b is still in it")
	}
	b.Leave()
	if s.sinks["r"] != nil || m.rooms["r"] != nil {
		t.Error("room still mixing after the last caller left")
	}
	if !s.tracks["a"].left || !s.tracks["b"].left {
		t.Error("phone tracks not removed from the SFU room")
	}
}

func TestJoinAfterClose(t *testing.T) {
	m, _ := newTestMixer(t)
	m.Close()
	if _, err := m.Join("r", PhoneInfo{ID: "a"}, &recLeg{}); err != ErrClosed {
		t.Errorf("got %v, want ErrClosed", err)
	}
}

func TestRealTickLoop(t *testing.T) {
	s := newFakeSFU()
	m := New(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	got := make(chan struct{}, 1)
	leg := legFunc(func([]int16) {
		select {
		case got <- struct{}{}:
		default:
		}
	})
	if _, err := m.Join("r", PhoneInfo{ID: "a"}, leg); err != nil {
		t.Fatal(err)
	}
	<-got // the ticker delivers frames without anyone speaking
	m.Close()
}

type legFunc func([]int16)

func (f legFunc) WriteAudio(p []int16) { f(p) }

func TestSoftLimit(t *testing.T) {
	prev := int16(math.MinInt16)
	for v := int32(-400000); v <= 400000; v += 37 {
		got := softLimit(v)
		if got < prev {
			t.Fatalf("softLimit not monotonic at %d", v)
		}
		prev = got
		if v >= -limitKnee && v <= limitKnee && int32(got) != v {
			t.Fatalf("softLimit(%d) = %d, want unchanged below the knee", v, got)
		}
	}
	if got := softLimit(10 * 32767); got <= 32000 {
		t.Errorf("softLimit(10x full scale) = %d, want close to 32767", got)
	}
}

func TestMuteShownInRoom(t *testing.T) {
	m, s := newTestMixer(t)
	mem, err := m.Join("r", PhoneInfo{ID: "a"}, &recLeg{})
	if err != nil {
		t.Fatal(err)
	}
	mem.SetMuted(true)
	mem.SetMuted(false)
	if got := s.tracks["a"].muted; len(got) != 2 || !got[0] || got[1] {
		t.Errorf("mute states reaching the room: got %v, want [true false]", got)
	}
}
