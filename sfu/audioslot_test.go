package sfu

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// A slot's stream stays continuous for one subscriber across changes of
// occupant: sequence numbers go on by one, timestamps by the elapsed time
// in whole frames, the marker bit flags the first packet of a new
// occupant, and within an occupancy the publisher's own gaps are kept.
func TestSlotRewriter(t *testing.T) {
	var w slotRewriter
	now := time.Unix(1000, 0)
	type in struct {
		gen     uint64
		seq     uint16
		ts      uint32
		advance time.Duration // wall time before this packet
	}
	type want struct {
		seq    uint16
		ts     uint32
		marker bool
	}
	for i, c := range []struct {
		in   in
		want want
	}{
		{in{1, 100, 5000, 0}, want{100, 5000, true}}, // the first packet keeps its numbers
		{in{1, 101, 5960, 20 * time.Millisecond}, want{101, 5960, false}},
		{in{1, 103, 7880, 40 * time.Millisecond}, want{103, 7880, false}}, // the publisher's gap is kept
		// A new occupant 95 ms later: next number, 5 frames later.
		{in{2, 60000, 123456, 95 * time.Millisecond}, want{104, 7880 + 5*960, true}},
		{in{2, 60001, 124416, 20 * time.Millisecond}, want{105, 7880 + 6*960, false}},
		{in{2, 65535, 124416 + 960*10, 20 * time.Millisecond}, want{105 + 65535 - 60001, 7880 + 16*960, false}},
		{in{2, 0, 124416 + 960*11, 20 * time.Millisecond}, want{105 + 65536 - 60001, 7880 + 17*960, false}}, // wraps
		// The first occupant again, at once: at least one frame later.
		{in{3, 110, 12000, time.Millisecond}, want{105 + 65536 - 60001 + 1, 7880 + 18*960, true}},
	} {
		now = now.Add(c.in.advance)
		h := rtp.Header{SequenceNumber: c.in.seq, Timestamp: c.in.ts}
		out := w.rewrite(&h, c.in.gen, now)
		if got := (want{out.SequenceNumber, out.Timestamp, out.Marker}); got != c.want {
			t.Errorf("packet %d: got seq %d ts %d marker %v, want seq %d ts %d marker %v",
				i, got.seq, got.ts, got.marker, c.want.seq, c.want.ts, c.want.marker)
		}
	}
	for _, c := range []struct {
		elapsed time.Duration
		want    uint32
	}{{0, 960}, {29 * time.Millisecond, 960}, {31 * time.Millisecond, 1920}, {time.Second, 48000}} {
		if got := slotTimestampGap(c.elapsed); got != c.want {
			t.Errorf("slotTimestampGap(%v) = %d, want %d", c.elapsed, got, c.want)
		}
	}
}

// The audible set maps onto slots with stickiness: a member keeps its slot
// while it stays audible and a newcomer takes the slot of the one it
// replaced; each change of occupant has a new generation.
func TestSlotsSticky(t *testing.T) {
	s := newSpeakers()
	s.setLastN(2)
	now := time.Unix(1000, 0)
	talk := levelTalker(s, &now)
	talk(map[string]uint8{"a": 10, "b": 20}, 100)
	occ := s.slotOccupants()
	if !slices.Contains(occ, "a") || !slices.Contains(occ, "b") {
		t.Fatalf("slots %v, want a and b", occ)
	}
	ia, _ := s.slotOf("a")
	ib, _ := s.slotOf("b")
	// c, much louder, replaces the quieter b in b's slot; a stays put.
	talk(map[string]uint8{"a": 10, "b": 20, "c": 0}, 100)
	ic, ok := s.slotOf("c")
	if !ok || ic.index != ib.index || ic.gen <= ib.gen {
		t.Errorf("c in slot %+v (ok %v), want b's slot %d with a newer generation than %d", ic, ok, ib.index, ib.gen)
	}
	if got, _ := s.slotOf("a"); got != ia {
		t.Errorf("a moved from %+v to %+v", ia, got)
	}
	if _, ok := s.slotOf("b"); ok {
		t.Error("b still has a slot")
	}
	// a leaves: b, still talking, takes a's slot, and c keeps its own.
	s.remove("a", now)
	if occ := s.slotOccupants(); occ[ia.index] != "b" || occ[ic.index] != "c" {
		t.Errorf("slots %v after a left, want b in slot %d and c in %d", occ, ia.index, ic.index)
	}
	// c leaves too: its slot is free.
	s.remove("c", now)
	if occ := s.slotOccupants(); occ[ia.index] != "b" || occ[ic.index] != "" {
		t.Errorf("slots %v after c left, want b in slot %d and slot %d free", occ, ia.index, ic.index)
	}
	s.setLastN(0)
	if _, ok := s.slotOf("c"); ok {
		t.Error("a slot with last-N off")
	}
}

// slotPacket is one packet a subscriber received on a slot.
type slotPacket struct {
	track  string // slot track ID
	from   int    // the publisher, from the payload's mark
	seq    uint16
	ts     uint32
	marker bool
	level  int // RFC 6464 level, -1 if absent
}

// slotLog records what one subscriber receives on its slots.
type slotLog struct {
	mu   sync.Mutex
	pkts []slotPacket
}

func (l *slotLog) collect(b *browser) {
	onSlotPackets(b, func(tr *webrtc.TrackRemote, pkt *rtp.Packet) {
		p := slotPacket{track: tr.ID(), from: -1, seq: pkt.SequenceNumber, ts: pkt.Timestamp, marker: pkt.Marker, level: -1}
		if n := len(pkt.Payload); n > len(silence) {
			p.from = int(pkt.Payload[n-1])
		}
		if ext := pkt.GetExtension(AudioLevelID); len(ext) > 0 {
			p.level = int(ext[0] & 0x7f)
		}
		l.mu.Lock()
		l.pkts = append(l.pkts, p)
		l.mu.Unlock()
	})
}

// onSlotPackets calls f, on a goroutine per track, with every packet b
// receives on its slot tracks until b closes.
func onSlotPackets(b *browser, f func(tr *webrtc.TrackRemote, pkt *rtp.Packet)) {
	go func() {
		for {
			select {
			case <-b.done:
				return
			case tr := <-b.tracks:
				if tr.StreamID() != SlotStreamID {
					continue
				}
				go func() {
					for {
						pkt, _, err := tr.ReadRTP()
						if err != nil {
							return
						}
						f(tr, pkt)
					}
				}()
			}
		}
	}()
}

// since returns the packets received from index i on.
func (l *slotLog) since(i int) []slotPacket {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.pkts[min(i, len(l.pkts)):])
}

func (l *slotLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pkts)
}

// heard returns the publishers heard in pkts, sorted.
func heard(pkts []slotPacket) []int {
	var from []int
	for _, p := range pkts {
		if !slices.Contains(from, p.from) {
			from = append(from, p.from)
		}
	}
	slices.Sort(from)
	return from
}

// slotSections counts the audio sections of an SDP that carry slot tracks,
// and all its sections.
func slotSections(t *testing.T, raw string) (slots, total int) {
	t.Helper()
	var d sdp.SessionDescription
	if err := d.UnmarshalString(raw); err != nil {
		t.Fatal(err)
	}
	for _, m := range d.MediaDescriptions {
		total++
		if msid, ok := m.Attribute("msid"); ok && m.MediaName.Media == "audio" && strings.HasPrefix(msid, SlotStreamID+" ") {
			slots++
		}
	}
	return slots, total
}

// TestAudioSlots: eight browsers publish audio, three of them loud, in a
// room with three audio slots. Every subscriber's offer has exactly three
// slot sections; the loud three are heard on the slots, each by everyone but
// itself, with their own payloads and levels. A ninth, louder browser joins:
// nobody else renegotiates, it takes the slot of the quietest talker, and
// on that slot every listener's stream goes on without a break.
func TestAudioSlots(t *testing.T) {
	const n, lastN = 8, 3
	base := runtime.NumGoroutine()
	m := testManager(t, Config{ICEIPs: []string{"127.0.0.1"}, AudioLastN: lastN})
	room := m.Room("slots")
	opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	stop := make(chan struct{})
	var talking sync.WaitGroup
	levels := []int32{10, 20, 30, 127, 127, 127, 127, 127, 0} // dBov; the ninth joins later
	var bs []*browser
	var logs []*slotLog
	join := func(i int) {
		mic, err := webrtc.NewTrackLocalStaticRTP(opus, "mic", fmt.Sprintf("p%d", i))
		if err != nil {
			t.Fatal(err)
		}
		b := joinBrowser(t, room, fmt.Sprintf("p%d", i), mic)
		l := &slotLog{}
		l.collect(b)
		bs, logs = append(bs, b), append(logs, l)
		var level atomic.Int32
		level.Store(levels[i])
		talking.Add(1)
		go func() {
			defer talking.Done()
			talkAt(mic, &level, byte(i), stop)
		}()
	}
	for i := range n {
		join(i)
	}
	// waitHeard waits until subscriber i hears exactly want in a window of
	// fresh packets.
	waitHeard := func(i int, want []int) []slotPacket {
		t.Helper()
		deadline := time.Now().Add(2 * testTimeout)
		var got []int
		for time.Now().Before(deadline) {
			from := logs[i].len()
			for logs[i].len() < from+50 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			pkts := logs[i].since(from)
			if got = heard(pkts); slices.Equal(got, want) {
				return pkts
			}
		}
		t.Fatalf("p%d hears %v on its slots, want %v (slots %v)", i, got, want, room.speakers.slotOccupants())
		return nil
	}
	for i := range n {
		want := []int{0, 1, 2}
		if i < 3 {
			want = slices.DeleteFunc(want, func(x int) bool { return x == i })
		}
		pkts := waitHeard(i, want)
		for _, p := range pkts {
			if p.level != int(levels[p.from]) {
				t.Errorf("p%d: a packet of p%d carries level %d, want %d", i, p.from, p.level, levels[p.from])
				break
			}
		}
	}
	for i, b := range bs {
		slots, total := slotSections(t, b.pc.RemoteDescription().SDP)
		// Its own audio and video sections, and the slots.
		if slots != lastN || total != 2+lastN {
			t.Errorf("p%d: offer has %d slot sections of %d, want %d of %d", i, slots, total, lastN, 2+lastN)
		}
	}
	offers := make([]int64, n)
	for i, b := range bs {
		offers[i] = b.sig.offered.Load()
	}
	occ := room.speakers.slotOccupants()
	quiet := slices.Index(occ, bs[2].peer.ID())
	if quiet < 0 {
		t.Fatalf("p2 has no slot: %v", occ)
	}
	slotOfP2 := slotTrackID(quiet)

	// The loudest of all joins.
	join(n)
	for i := range n + 1 {
		want := []int{0, 1, 8}
		if i == 0 || i == 1 || i == 8 {
			want = slices.DeleteFunc(want, func(x int) bool { return x == i })
		}
		waitHeard(i, want)
	}
	if got := slices.Index(room.speakers.slotOccupants(), bs[n].peer.ID()); got != quiet {
		t.Errorf("the newcomer is in slot %d, want %d (the one p2 left)", got, quiet)
	}
	// A renegotiation would have started within negotiateMaxWindow of the
	// newcomer's join; its audio has been heard since. Give any offer
	// twice that to arrive.
	time.Sleep(2 * negotiateMaxWindow) // a measuring window, not a wait for an event
	for i, b := range bs[:n] {
		if got := b.sig.offered.Load(); got != offers[i] {
			t.Errorf("p%d got %d offers after an audio-only join, want none", i, got-offers[i])
		}
	}
	// Listener p3's stream on the slot that changed hands: continuous, with
	// the marker where p8 took over.
	var prev *slotPacket
	switched := false
	for _, p := range logs[3].since(0) {
		if p.track != slotOfP2 {
			continue
		}
		if prev != nil {
			if p.seq != prev.seq+1 {
				t.Errorf("slot %s: seq %d after %d", slotOfP2, p.seq, prev.seq)
			}
			change := p.from != prev.from
			if p.marker != change {
				t.Errorf("slot %s: marker %v on seq %d (publisher p%d after p%d)", slotOfP2, p.marker, p.seq, p.from, prev.from)
			}
			if change {
				switched = true
				if d := p.ts - prev.ts; d == 0 || d%opusFrame != 0 {
					t.Errorf("slot %s: timestamp step %d at the switch, want whole frames", slotOfP2, d)
				}
			} else if p.ts-prev.ts != opusFrame {
				t.Errorf("slot %s: timestamp step %d, want %d", slotOfP2, p.ts-prev.ts, opusFrame)
			}
		}
		prev = &p
	}
	if !switched {
		t.Errorf("p3 never saw slot %s change from p2 to p8", slotOfP2)
	}

	close(stop)
	talking.Wait()
	for _, b := range bs {
		b.close()
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	waitGoroutines(t, base)
}
