package mixer

import (
	"io"
	"log/slog"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/pion/rtp"
	"gopkg.in/hraban/opus.v2"
)

// runTalk feeds levels (quarter-dBov per input, per tick) and returns the
// talker flags after the last tick.
func runTalk(n int, levels func(tick, input int) int, inputs, ticks int) []bool {
	tk := newTalkers(n)
	st := make([]talkState, inputs)
	for i := range st {
		st[i].level = levelFloor
	}
	for tick := 0; tick < ticks; tick++ {
		for i := range st {
			tk.offer(&st[i], levels(tick, i))
		}
		tk.update()
	}
	out := make([]bool, inputs)
	for i := range st {
		out[i] = st[i].talker
	}
	return out
}

func TestTalkerSelection(t *testing.T) {
	tests := []struct {
		name   string
		levels func(tick, input int) int
		want   []bool
	}{
		{"loudest three of five", func(_, i int) int { return (-40 + 5*i) * 4 },
			[]bool{false, false, true, true, true}},
		{"silence is nobody", func(_, _ int) int { return levelFloor },
			[]bool{false, false, false, false, false}},
		{"a slightly louder newcomer does not displace", func(tick, i int) int {
			if i == 4 {
				if tick < 50 {
					return levelFloor
				}
				return -17 * 4 // 3 dB above input 3
			}
			if i < 3 {
				return -20 * 4
			}
			return levelFloor
		}, []bool{true, true, true, false, false}},
		{"a much louder newcomer displaces", func(tick, i int) int {
			if i == 4 {
				if tick < 50 {
					return levelFloor
				}
				return -5 * 4
			}
			if i < 3 {
				return (-30 + i) * 4
			}
			return levelFloor
		}, []bool{false, true, true, false, true}},
		{"pauses shorter than the hold keep the place", func(tick, i int) int {
			if i == 0 && tick >= 20 && tick%10 < 5 { // 100 ms gaps every 200 ms
				return levelFloor
			}
			if i == 4 {
				return -35 * 4 // quieter but steady
			}
			if i == 3 {
				return levelFloor
			}
			return -20 * 4
		}, []bool{true, true, true, false, false}},
		{"a talker silent longer than the hold is released", func(tick, i int) int {
			if i == 0 && tick > 50 {
				return levelFloor
			}
			if i == 4 {
				return -35 * 4
			}
			if i == 3 {
				return levelFloor
			}
			return -20 * 4
		}, []bool{false, true, true, false, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := runTalk(3, tc.levels, 5, 100)
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("talkers: got %v, want %v", got, tc.want)
					break
				}
			}
		})
	}
}

func TestEnergyLevel(t *testing.T) {
	tests := []struct {
		amp  float64
		want int // dBov of a sine (RMS is -3 dB)
	}{{32767, -3}, {3276, -23}, {327, -43}}
	for _, tc := range tests {
		got := energyLevel(level(tone(440, NarrowRate, NarrowSamples, tc.amp, 0))) / 4
		if got < tc.want-3 || got > tc.want+3 {
			t.Errorf("amplitude %v: got %d dBov, want %d ±3", tc.amp, got, tc.want)
		}
	}
}

// withLevel returns an RTP header carrying an RFC 6464 level in extension id 1
// and transport-cc (2 bytes) in id 3.
func withLevel(seq uint16, ts uint32, lvl uint8) rtp.Header {
	h := rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}
	_ = h.SetExtension(3, []byte{0, byte(seq)})
	_ = h.SetExtension(1, []byte{0x80 | lvl})
	return h
}

// TestBrowserDecodedOnlyWhileTalking: a browser track whose level header says
// silence is not decoded; once it says speech it is mixed and heard.
func TestBrowserDecodedOnlyWhileTalking(t *testing.T) {
	clk := time.Unix(1000, 0)
	s := newFakeSFU()
	m := NewWith(s, Config{Now: func() time.Time { return clk }}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	m.manualTick = true
	defer m.Close()
	leg := &recLeg{}
	if _, err := m.Join("r", PhoneInfo{ID: "a"}, leg); err != nil {
		t.Fatal(err)
	}
	enc, _ := opus.NewEncoder(48000, 1, opus.AppVoIP)
	buf := make([]byte, 1500)
	r := m.rooms["r"]
	send := func(i int, lvl uint8) {
		n, err := enc.Encode(tone(660, 48000, 960, 10000, i*960), buf)
		if err != nil {
			t.Fatal(err)
		}
		s.sinks["r"].OnAudio("web-1", &rtp.Packet{Header: withLevel(uint16(i), uint32(i*960), lvl), Payload: buf[:n]})
	}
	for i := 0; i < 50; i++ { // the header says -127 dBov: never decoded
		send(i, 127)
		r.mixOnce(clk)
		clk = clk.Add(FrameDuration)
	}
	if got := m.stats.decodes.Load(); got != 0 {
		t.Errorf("decodes while silent by header: got %d, want 0", got)
	}
	from := len(leg.frames)
	for i := 50; i < 100; i++ {
		send(i, 20)
		r.mixOnce(clk)
		clk = clk.Add(FrameDuration)
	}
	if got := m.stats.decodes.Load(); got < 45 {
		t.Errorf("decodes while talking: got %d, want about 50", got)
	}
	if got := dominant(leg.concat(from+10), NarrowRate); math.Abs(got-660) > 20 {
		t.Errorf("phone hears %v Hz, want 660", got)
	}
}

// TestMixOnceAllocs checks the hot path allocates nothing per tick.
func TestMixOnceAllocs(t *testing.T) {
	m, r, mems := benchRoom(t, 50)
	defer m.Close()
	talk := tone(440, NarrowRate, NarrowSamples, 8000, 0)
	quiet := constFrame(3)
	seq := uint16(0)
	got := testing.AllocsPerRun(200, func() {
		seq++
		feed(mems, seq, talk, quiet)
		r.mixOnce(time.Unix(0, 0))
	})
	if got != 0 {
		t.Errorf("allocations per tick: got %v, want 0", got)
	}
	// The ticks measured must have mixed talkers (upsampling, the talkers'
	// own frames), not only silence.
	talkers := 0
	for _, mem := range mems {
		if mem.talk.talker && mem.ownMix {
			talkers++
		}
	}
	if talkers != 3 {
		t.Errorf("talkers in the last tick: %d, want 3", talkers)
	}
}

// benchRoom builds a room of n phone callers with a manual tick.
func benchRoom(tb testing.TB, n int) (*Mixer, *room, []*Member) {
	tb.Helper()
	m := New(newFakeSFU(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	m.manualTick = true
	mems := make([]*Member, 0, n)
	for i := 0; i < n; i++ {
		mem, err := m.Join("r", PhoneInfo{ID: strconv.Itoa(i)}, legFunc(func([]int16) {}))
		if err != nil {
			tb.Fatal(err)
		}
		mems = append(mems, mem)
	}
	return m, m.rooms["r"], mems
}

// feed gives every caller one frame with sequence number seq: the first three
// talk, everyone else sends line noise. It is the jitter-buffer half of Push
// (the Opus encode for the browsers runs on the callers' own goroutines).
func feed(mems []*Member, seq uint16, talk, quiet []int16) {
	now := time.Unix(0, 0).Add(time.Duration(seq) * FrameDuration)
	for i, mem := range mems {
		f := quiet
		if i < 3 {
			f = talk
		}
		mem.mu.Lock()
		if idx, ok := mem.jb.insert(seq, now); ok {
			copy(mem.slots[idx][:], f)
			mem.slotN[idx] = int16(len(f))
		}
		mem.mu.Unlock()
	}
}

// BenchmarkMixOnce measures one tick of a room of N phone callers with three
// talkers, including the jitter-buffer insert of every caller's frame. The
// callers-per-core figure is how many callers one core could mix in real time
// (20 ms of CPU per 20 ms tick).
func BenchmarkMixOnce(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			m, r, mems := benchRoom(b, n)
			defer m.Close()
			talk := tone(440, NarrowRate, NarrowSamples, 8000, 0)
			quiet := constFrame(3)
			seq := uint16(0)
			for range 3 {
				seq++
				feed(mems, seq, talk, quiet)
			}
			r.mixOnce(time.Unix(0, 0)) // the first tick sizes the scratch slices
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
