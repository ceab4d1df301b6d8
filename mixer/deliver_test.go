package mixer

import (
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestEveryLegOncePerRound: however the legs are claimed by the tick
// goroutine and its helpers, each leg gets exactly one frame per tick, also
// when legs join and leave between ticks (the race detector checks that no
// helper touches a round that is over).
func TestEveryLegOncePerRound(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8)) // seven helpers
	m := New(newFakeSFU(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	m.manualTick = true
	defer m.Close()
	var counts []*atomic.Int64
	join := func() {
		c := new(atomic.Int64)
		_, err := m.Join("r", PhoneInfo{ID: strconv.Itoa(len(counts))}, legFunc(func([]int16) { c.Add(1) }))
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, c)
	}
	for range parallelMin + 3*sendChunk + 5 {
		join()
	}
	r := m.rooms["r"]
	r.send = newSenders(r)
	defer r.send.stop()
	for tick := range 300 {
		for _, c := range counts {
			c.Store(0)
		}
		r.mixOnce(time.Unix(0, 0))
		for i, c := range counts {
			if got := c.Load(); got != 1 {
				t.Fatalf("tick %d: leg %d got %d frames, want 1", tick, i, got)
			}
		}
		if tick%50 == 49 { // the next round has other legs
			join()
			join()
		}
	}
}

// TestParallelDeliveryReachesEveryLeg runs the real loop with more legs than
// parallelMin: every leg gets frames, and the talker gets its own mix (the
// race detector checks the helpers share nothing unsafely).
func TestParallelDeliveryReachesEveryLeg(t *testing.T) {
	m := New(newFakeSFU(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer m.Close()
	const n = parallelMin + 72
	var mu sync.Mutex
	got := map[int]int16{} // leg -> first sample of its first non-silent frame
	all := make(chan struct{})
	var talker *Member
	for i := 0; i < n; i++ {
		leg := legFunc(func(pcm []int16) {
			mu.Lock()
			defer mu.Unlock()
			if _, ok := got[i]; ok || pcm[0] == 0 {
				return
			}
			got[i] = pcm[0]
			if len(got) == n-1 { // everyone but the talker hears it
				close(all)
			}
		})
		mem, err := m.Join("r", PhoneInfo{ID: strconv.Itoa(i)}, leg)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			talker = mem
		}
	}
	for range 60 { // 1.2 s of speech, buffered ahead of the loop
		talker.Push(constFrame(5000))
	}
	<-all
	mu.Lock()
	defer mu.Unlock()
	if _, ok := got[0]; ok {
		t.Error("the talker heard itself")
	}
	for i := 1; i < n; i++ {
		if got[i] != 5000 {
			t.Fatalf("leg %d: got %d, want 5000", i, got[i])
		}
	}
}

// TestCloseStopsEveryGoroutine: the room loops and their send helpers are
// gone once Close returns (Close waits for them; nothing is left to poll).
func TestCloseStopsEveryGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	m := New(newFakeSFU(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i := 0; i < parallelMin+1; i++ {
		if _, err := m.Join("r"+strconv.Itoa(i%2), PhoneInfo{ID: strconv.Itoa(i)}, legFunc(func([]int16) {})); err != nil {
			t.Fatal(err)
		}
	}
	if got := runtime.NumGoroutine(); got <= before {
		t.Fatalf("goroutines while mixing: got %d, want more than %d", got, before)
	}
	m.Close()
	// At most as many as before: goroutines of earlier tests (timers, the
	// runtime's) may end meanwhile, but none of the mixer's may remain. An
	// unrelated goroutine may be on its way out when Close returns, so the
	// count is polled for a moment; a leaked mixer goroutine never ends.
	deadline := time.Now().Add(2 * time.Second)
	got := runtime.NumGoroutine()
	for got > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling the count; there is no event to wait for
		got = runtime.NumGoroutine()
	}
	if got > before {
		t.Errorf("goroutines after Close: got %d, want at most %d", got, before)
		buf := make([]byte, 1<<16)
		t.Logf("%s", buf[:runtime.Stack(buf, true)])
	}
}

// frameLeg is a FrameLeg that encodes its frames with its slot's encoder and
// records what it got.
type frameLeg struct {
	slot   int
	frames []*Frame
	bytes  [][]byte
}

func (l *frameLeg) WriteAudio([]int16) { panic("WriteAudio called on a FrameLeg") }

func (l *frameLeg) WriteFrame(f *Frame) {
	l.frames = append(l.frames, f)
	l.bytes = append(l.bytes, append([]byte(nil), f.Encoded(l.slot, countingEncode)...))
}

// encodes counts countingEncode calls (tests in this file tick by hand, on
// one goroutine).
var encodes int

// countingEncode "encodes" each sample as its low byte.
func countingEncode(dst []byte, pcm []int16) int {
	encodes++
	n := min(len(dst), len(pcm))
	for i := range n {
		dst[i] = byte(pcm[i])
	}
	return n
}

// TestSharedEncodeOncePerCodec: every non-talker gets the room's one Frame,
// encoded once per tick per slot however many legs use it; a talker gets
// its own Frame (its N-1 mix), encoded for it alone.
func TestSharedEncodeOncePerCodec(t *testing.T) {
	c := newClockMixer(t, 3)
	talkerLeg := &frameLeg{}
	talker, err := c.Join("r", PhoneInfo{ID: "talker"}, talkerLeg)
	if err != nil {
		t.Fatal(err)
	}
	var listeners []*frameLeg
	for i := range 10 {
		l := &frameLeg{slot: i % 2} // two codecs
		m, err := c.Join("r", PhoneInfo{ID: strconv.Itoa(i)}, l)
		if err != nil {
			t.Fatal(err)
		}
		listeners = append(listeners, l)
		defer m.Leave()
	}
	for range 10 {
		talker.Push(constFrame(7000))
		c.tick("r")
	}
	encodes = 0
	talker.Push(constFrame(7000))
	c.tick("r")
	if encodes != 3 { // the shared mix in two slots, the talker's own mix
		t.Errorf("encodes in one tick: got %d, want 3 (2 shared + 1 own)", encodes)
	}
	shared := listeners[0].frames[len(listeners[0].frames)-1]
	for i, l := range listeners {
		f := l.frames[len(l.frames)-1]
		if f != shared {
			t.Errorf("listener %d got a frame of its own, want the shared one", i)
		}
		if b := l.bytes[len(l.bytes)-1]; len(b) != NarrowSamples || b[0] != 7000&0xff {
			t.Errorf("listener %d: encoded %d bytes starting %v, want %d of the talker's voice", i, len(b), b[:min(len(b), 1)], NarrowSamples)
		}
	}
	own := talkerLeg.frames[len(talkerLeg.frames)-1]
	if own == shared {
		t.Error("the talker got the shared frame, want its own N-1 mix")
	}
	if b := talkerLeg.bytes[len(talkerLeg.bytes)-1]; len(b) != NarrowSamples || b[0] != 0 {
		t.Errorf("talker: encoded %d bytes starting %v, want %d of silence (it hears nobody)", len(b), b[:min(len(b), 1)], NarrowSamples)
	}
	if shared.Encoded(FrameEncodings, countingEncode) != nil || shared.Encoded(-1, countingEncode) != nil {
		t.Error("Encoded with a slot out of range: want nil")
	}
}

// ulaw is a G.711 µ-law encoder for the benchmark (the real one is in sip,
// which imports this package).
func ulaw(dst []byte, pcm []int16) int {
	n := min(len(dst), len(pcm))
	for i, v := range pcm[:n] {
		s, sign := int32(v), int32(0)
		if s < 0 {
			s, sign = -s, 0x80
		}
		s = min(s, 32635) + 0x84
		exp := int32(7)
		for m := int32(0x4000); s&m == 0 && exp > 0; m >>= 1 {
			exp--
		}
		dst[i] = ^byte(sign | exp<<4 | (s>>(exp+3))&0x0f)
	}
	return n
}

// pcmLeg encodes every frame it gets itself, as a Leg without WriteFrame must.
type pcmLeg struct{ buf [NarrowSamples]byte }

func (l *pcmLeg) WriteAudio(pcm []int16) { ulaw(l.buf[:], pcm) }

// sharedLeg takes Frames and uses their shared µ-law encoding.
type sharedLeg struct{ buf [NarrowSamples]byte }

func (l *sharedLeg) WriteAudio(pcm []int16) { ulaw(l.buf[:], pcm) }
func (l *sharedLeg) WriteFrame(f *Frame)    { copy(l.buf[:], f.Encoded(0, ulaw)) }

// BenchmarkMixOnceG711 is BenchmarkMixOnce with legs that G.711-encode what
// they get: each its own encode (pcm) or the room's shared one (shared).
func BenchmarkMixOnceG711(b *testing.B) {
	for _, kind := range []string{"pcm", "shared"} {
		for _, n := range []int{100, 1000, 10000} {
			b.Run(kind+"/"+strconv.Itoa(n), func(b *testing.B) {
				m := New(newFakeSFU(), slog.New(slog.NewTextHandler(io.Discard, nil)))
				m.manualTick = true
				defer m.Close()
				mems := make([]*Member, 0, n)
				for i := 0; i < n; i++ {
					var leg Leg = &pcmLeg{}
					if kind == "shared" {
						leg = &sharedLeg{}
					}
					mem, err := m.Join("r", PhoneInfo{ID: strconv.Itoa(i)}, leg)
					if err != nil {
						b.Fatal(err)
					}
					mems = append(mems, mem)
				}
				r := m.rooms["r"]
				talk := tone(440, NarrowRate, NarrowSamples, 8000, 0)
				quiet := constFrame(3)
				seq := uint16(0)
				for range 3 {
					seq++
					feed(mems, seq, talk, quiet)
				}
				r.mixOnce(time.Unix(0, 0))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					seq++
					feed(mems, seq, talk, quiet)
					r.mixOnce(time.Unix(0, 0))
				}
				nsPerTick := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				b.ReportMetric(float64(n)*float64(FrameDuration.Nanoseconds())/nsPerTick, "callers/core")
			})
		}
	}
}
