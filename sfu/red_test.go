package sfu

import (
	"bytes"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// redHdr is the 4-byte header of a redundant Opus block.
func redHdr(offset uint32, n int) []byte {
	h := offset<<10 | uint32(n)
	return []byte{0x80 | opusPayloadType, byte(h >> 16), byte(h >> 8), byte(h)}
}

// blk is an Opus block with a timestamp offset.
func blk(offset uint32, data []byte) redBlock {
	return redBlock{pt: opusPayloadType, tsOffset: offset, data: data}
}

func TestParseRED(t *testing.T) {
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	many := bytes.Repeat(redHdr(960, 0), maxREDBlocks+1)
	for _, c := range []struct {
		name    string
		payload []byte
		want    []redBlock
		err     error
	}{
		{"primary only", []byte{opusPayloadType, 1, 2, 3}, []redBlock{blk(0, []byte{1, 2, 3})}, nil},
		{"empty primary", []byte{opusPayloadType}, []redBlock{blk(0, []byte{})}, nil},
		{"one redundant", cat(redHdr(960, 2), []byte{opusPayloadType}, []byte{7, 8}, []byte{9}),
			[]redBlock{blk(960, []byte{7, 8}), blk(0, []byte{9})}, nil},
		{"two redundant", cat(redHdr(1920, 1), redHdr(960, 1), []byte{opusPayloadType}, []byte{1, 2, 3}),
			[]redBlock{blk(1920, []byte{1}), blk(960, []byte{2}), blk(0, []byte{3})}, nil},
		{"largest fields", cat(redHdr(1<<14-1, 1023), []byte{opusPayloadType}, make([]byte, 1023)),
			[]redBlock{blk(1<<14-1, make([]byte, 1023)), blk(0, []byte{})}, nil},
		{"empty", nil, nil, errREDTruncated},
		{"short header", []byte{0x80 | opusPayloadType, 0, 0}, nil, errREDTruncated},
		{"no primary header", redHdr(960, 0), nil, errREDTruncated},
		{"length past the end", cat(redHdr(960, 5), []byte{opusPayloadType}, []byte{1, 2}), nil, errREDLength},
		{"length past the whole payload", cat(redHdr(960, 1000), []byte{opusPayloadType}), nil, errREDLength},
		{"lengths past the end together", cat(redHdr(960, 2), redHdr(960, 2), []byte{opusPayloadType}, []byte{1, 2, 3}), nil, errREDLength},
		{"too many blocks", cat(many, []byte{opusPayloadType}), nil, errREDBlocks},
	} {
		got, err := parseRED(c.payload, nil)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: got error %v, want %v", c.name, err, c.err)
			continue
		}
		if err != nil {
			if len(got) != 0 {
				t.Errorf("%s: %d blocks with the error", c.name, len(got))
			}
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: got %d blocks, want %d", c.name, len(got), len(c.want))
			continue
		}
		for i := range got {
			g, w := got[i], c.want[i]
			if g.pt != w.pt || g.tsOffset != w.tsOffset || !bytes.Equal(g.data, w.data) {
				t.Errorf("%s: block %d is pt %d offset %d data %v, want pt %d offset %d data %v",
					c.name, i, g.pt, g.tsOffset, g.data, w.pt, w.tsOffset, w.data)
			}
		}
		if again := appendRED(nil, got); !bytes.Equal(again, c.payload) {
			t.Errorf("%s: appendRED gives %x, want %x", c.name, again, c.payload)
		}
	}
	// With capacity, parsing allocates nothing.
	buf := make([]redBlock, 0, 4)
	p := cat(redHdr(960, 2), []byte{opusPayloadType}, []byte{7, 8}, []byte{9})
	if n := testing.AllocsPerRun(100, func() { buf, _ = parseRED(p, buf) }); n != 0 {
		t.Errorf("parseRED allocates %v times per packet, want 0", n)
	}
}

// frame is the test's Opus frame number i: a silence frame marked with i.
func frame(i int) []byte { return []byte{0xf8, 0xff, 0xfe, byte(i >> 8), byte(i)} }

// redPacket is frame i in RED with frame i−1 as redundancy (none for 0).
func redPacket(seq0 uint16, ts0 uint32, i int) *rtp.Packet {
	blocks := []redBlock{{pt: opusPayloadType, data: frame(i)}}
	if i > 0 {
		blocks = []redBlock{{pt: opusPayloadType, tsOffset: opusFrame, data: frame(i - 1)}, blocks[0]}
	}
	return &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: redPayloadType,
		SequenceNumber: seq0 + uint16(i), Timestamp: ts0 + uint32(i)*opusFrame}, Payload: appendRED(nil, blocks)}
}

// sinkPacket is a packet an audio sink received.
type sinkPacket struct {
	seq     uint16
	ts      uint32
	pt      uint8
	payload []byte
}

// recordingSink keeps copies of what it is given.
type recordingSink struct {
	mu   sync.Mutex
	pkts []sinkPacket
}

func (s *recordingSink) OnAudio(_ string, p *rtp.Packet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pkts = append(s.pkts, sinkPacket{p.SequenceNumber, p.Timestamp, p.PayloadType, slices.Clone(p.Payload)})
}

func (s *recordingSink) all() []sinkPacket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pkts)
}

// The sinks get plain Opus from a RED stream: each primary, and a lost
// packet's frame from the next packet's redundancy, with the lost packet's
// sequence number and timestamp, right after the packet that carried it
// (so a jitter buffer sees it as older than one it has, not as jitter). A
// packet that arrives anyway later, plain Opus, and a malformed RED packet
// (dropped, counted) behave as they should.
func TestREDSplitter(t *testing.T) {
	m := testManager(t, Config{AudioLastN: 3})
	room := m.Room("red")
	sink := &recordingSink{}
	defer room.AddAudioSink(sink)()
	var s redSplitter
	var seq0 uint16 = 65530                        // the sequence number wraps during the test
	var ts0 uint32 = 4294967000                    // and so does the timestamp
	for _, i := range []int{0, 1, 3, 4, 2, 7, 8} { // 2 lost, arrives late; 5 and 6 lost
		s.toSinks(room, "p", redPacket(seq0, ts0, i))
	}
	// Padding (no payload), a malformed packet, then plain Opus.
	s.toSinks(room, "p", &rtp.Packet{Header: rtp.Header{PayloadType: redPayloadType, SequenceNumber: seq0 + 9, Timestamp: ts0 + 8*opusFrame}})
	s.toSinks(room, "p", &rtp.Packet{Header: rtp.Header{PayloadType: redPayloadType, SequenceNumber: seq0 + 10}, Payload: []byte{0xff}})
	s.toSinks(room, "p", &rtp.Packet{Header: rtp.Header{PayloadType: opusPayloadType, SequenceNumber: seq0 + 11,
		Timestamp: ts0 + 11*opusFrame}, Payload: frame(11)})
	want := []int{0, 1, 3, 2, 4, 2, 7, 6, 8, 11} // 2 from 3's redundancy, then late; 6 from 7's
	got := sink.all()
	if len(got) != len(want) {
		t.Fatalf("sink got %d packets, want %d: %+v", len(got), len(want), got)
	}
	for k, i := range want {
		g := got[k]
		if g.seq != seq0+uint16(i) || g.ts != ts0+uint32(i)*opusFrame || g.pt != opusPayloadType || !bytes.Equal(g.payload, frame(i)) {
			t.Errorf("sink packet %d: seq %d ts %d pt %d payload %x, want frame %d: seq %d ts %d pt %d payload %x",
				k, g.seq, g.ts, g.pt, g.payload, i, seq0+uint16(i), ts0+uint32(i)*opusFrame, opusPayloadType, frame(i))
		}
	}
	st := m.REDStats()
	if st != (REDStats{Packets: 8, Recovered: 2, Malformed: 1}) {
		t.Errorf("stats %+v, want 8 packets, 2 recovered, 1 malformed", st)
	}
}

// fakeWriter records what a slot track writes.
type fakeWriter struct{ pkts []rtp.Packet }

func (w *fakeWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.pkts = append(w.pkts, rtp.Packet{Header: *h, Payload: slices.Clone(payload)})
	return len(payload), nil
}
func (w *fakeWriter) Write(b []byte) (int, error) { return len(b), nil }

// A slot sends a RED subscriber RED and a plain one the primary Opus, with
// the same rewritten numbers; the plain one also gets a lost packet
// recovered from the next packet's redundancy. Across a change of occupant the RED blocks'
// offsets stay valid: each redundant block's timestamp is that of the
// subscriber's previous packet of the same frame, and the new occupant's
// first packet carries no redundancy from before its occupancy. A
// plain-Opus occupant's frames reach the RED subscriber in RED built from
// its previous frame.
func TestSlotRED(t *testing.T) {
	s := newAudioSlots(1)
	red, plain := &fakeWriter{}, &fakeWriter{}
	redOut := &slotOut{local: newSlotTrack(slotTrackID(0))}
	redOut.local.b.Store(&slotBinding{ssrc: 1, opusPT: 111, redPT: 63, red: true, ws: red})
	plainOut := &slotOut{local: newSlotTrack(slotTrackID(0))}
	plainOut.local.b.Store(&slotBinding{ssrc: 2, opusPT: 111, ws: plain})
	s.add("red", []*slotOut{redOut})
	s.add("plain", []*slotOut{plainOut})
	now := time.Unix(1000, 0)
	// Occupant A sends RED frames 0–4 (3 lost), then B takes the slot with
	// RED frames 100–102, then C with plain Opus frames 200–202.
	for _, i := range []int{0, 1, 2, 4} {
		now = now.Add(20 * time.Millisecond)
		s.forward(slotRef{0, 1}, "a", redPacket(1000, 50000, i), now)
	}
	for _, i := range []int{100, 101, 102} {
		now = now.Add(20 * time.Millisecond)
		s.forward(slotRef{0, 2}, "b", redPacket(7, 900000, i), now)
	}
	for _, i := range []int{200, 201, 202} {
		now = now.Add(20 * time.Millisecond)
		p := redPacket(300, 77, i)
		blocks, _ := parseRED(p.Payload, nil)
		p.PayloadType, p.Payload = opusPayloadType, blocks[len(blocks)-1].data
		s.forward(slotRef{0, 3}, "c", p, now)
	}
	s.forward(slotRef{0, 3}, "c", &rtp.Packet{Header: rtp.Header{PayloadType: redPayloadType, SequenceNumber: 303}, Payload: []byte{0x80}}, now)
	// The plain subscriber: every frame, 3 recovered from 4's redundancy,
	// as one stream; its numbers are the RED subscriber's.
	plainFrames := []int{0, 1, 2, 3, 4, 100, 101, 102, 200, 201, 202}
	if len(plain.pkts) != len(plainFrames) {
		t.Fatalf("plain subscriber got %d packets, want %d", len(plain.pkts), len(plainFrames))
	}
	plainAt := map[int]rtp.Header{}
	for k, i := range plainFrames {
		p := plain.pkts[k]
		plainAt[i] = p.Header
		if p.PayloadType != 111 || p.SSRC != 2 || !bytes.Equal(p.Payload, frame(i)) {
			t.Errorf("frame %d: plain subscriber got pt %d ssrc %d payload %x, want 111 2 %x", i, p.PayloadType, p.SSRC, p.Payload, frame(i))
		}
		if k > 0 && p.SequenceNumber != plain.pkts[k-1].SequenceNumber+1 {
			t.Errorf("frame %d: plain subscriber's seq %d after %d", i, p.SequenceNumber, plain.pkts[k-1].SequenceNumber)
		}
	}
	if d := plainAt[3].Timestamp - plainAt[2].Timestamp; d != opusFrame || plainAt[3].Marker {
		t.Errorf("recovered frame 3: %d after frame 2, marker %v; want %d, no marker", d, plainAt[3].Marker, opusFrame)
	}
	// The RED subscriber: RED, the same numbers, valid redundancy.
	frames := []int{0, 1, 2, 4, 100, 101, 102, 200, 201, 202}
	if len(red.pkts) != len(frames) {
		t.Fatalf("RED subscriber got %d packets, want %d", len(red.pkts), len(frames))
	}
	frameAt := map[uint32][]byte{} // the RED subscriber's frames by its timestamps
	for k, i := range frames {
		r, p := red.pkts[k], plainAt[i]
		if r.SequenceNumber != p.SequenceNumber || r.Timestamp != p.Timestamp || r.SSRC != 1 {
			t.Errorf("frame %d: RED subscriber seq %d ts %d ssrc %d, plain seq %d ts %d",
				i, r.SequenceNumber, r.Timestamp, r.SSRC, p.SequenceNumber, p.Timestamp)
		}
		if r.PayloadType != 63 {
			t.Errorf("frame %d: RED subscriber got pt %d, want 63", i, r.PayloadType)
			continue
		}
		blocks, err := parseRED(r.Payload, nil)
		if err != nil {
			t.Errorf("frame %d: RED subscriber's payload: %v", i, err)
			continue
		}
		if pr := blocks[len(blocks)-1]; !bytes.Equal(pr.data, frame(i)) {
			t.Errorf("frame %d: primary %x, want %x", i, pr.data, frame(i))
		}
		first := i == 0 || i == 100 || i == 200 // of an occupancy
		if first != (len(blocks) == 1) {
			t.Errorf("frame %d: %d redundant blocks", i, len(blocks)-1)
		}
		for _, b := range blocks[:len(blocks)-1] {
			at := r.Timestamp - b.tsOffset
			if prev, ok := frameAt[at]; i != 4 && (!ok || !bytes.Equal(prev, b.data)) {
				t.Errorf("frame %d: redundant block at ts %d is %x, the subscriber had %x there", i, at, b.data, prev)
			}
			if i == 4 && !bytes.Equal(b.data, frame(3)) {
				t.Errorf("frame 4: redundancy %x, want the lost frame 3 %x", b.data, frame(3))
			}
		}
		frameAt[r.Timestamp] = frame(i)
	}
}

// joinREDBrowser is joinBrowser for a browser that negotiates RED.
func joinREDBrowser(t *testing.T, room *Room, name string, publish webrtc.TrackLocal) *browser {
	t.Helper()
	return joinBrowserWith(t, newLoopbackAPI(t, true), room, name, publish)
}

// slotReceived collects the packets a browser receives on its slot tracks.
type slotReceived struct {
	mu   sync.Mutex
	pkts []rtp.Packet
}

func (r *slotReceived) collect(b *browser) {
	onSlotPackets(b, func(_ *webrtc.TrackRemote, pkt *rtp.Packet) {
		r.mu.Lock()
		r.pkts = append(r.pkts, rtp.Packet{Header: pkt.Header, Payload: slices.Clone(pkt.Payload)})
		r.mu.Unlock()
	})
}

func (r *slotReceived) all() []rtp.Packet {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pkts)
}

// TestRED: a browser publishes Opus in RED, dropping every tenth packet on
// its way out. Over real PeerConnections, a subscriber that negotiated RED
// receives RED whose primary and redundant blocks carry the frames of their
// timestamps (the dropped frames among them, in the next packet's
// redundancy); one that did not receives the frames as plain Opus, the
// dropped ones recovered; so does the room's audio sink, every frame.
func TestRED(t *testing.T) {
	base := runtime.NumGoroutine()
	m := testManager(t, Config{ICEIPs: []string{"127.0.0.1"}, AudioLastN: 3})
	room := m.Room("red")
	sink := &recordingSink{}
	removeSink := room.AddAudioSink(sink)
	mic, err := webrtc.NewTrackLocalStaticRTP(redCapability, "mic", "pub")
	if err != nil {
		t.Fatal(err)
	}
	pub := joinREDBrowser(t, room, "pub", mic)
	redSub, plainSub := joinREDBrowser(t, room, "red", nil), joinBrowser(t, room, "plain", nil)
	var redGot, plainGot slotReceived
	redGot.collect(redSub)
	plainGot.collect(plainSub)

	const seq0, ts0 = 40000, 123456
	dropped := func(i int) bool { return i%10 == 5 }
	stop := make(chan struct{})
	done := make(chan struct{})
	sent := 0
	go func() {
		defer close(done)
		pace(stop, func() {
			p := redPacket(seq0, ts0, sent)
			_ = p.SetExtension(AudioLevelID, []byte{0x80 | 10})
			if !dropped(sent) {
				_ = mic.WriteRTP(p)
			}
			sent++
		})
	}()
	waitFor(func() bool { return len(redGot.all()) >= 100 && len(plainGot.all()) >= 100 })
	close(stop)
	<-done
	frameOf := func(ts uint32) int { return int(ts-ts0) / opusFrame }

	// The sink: plain Opus, every frame from the first it got.
	sunk := sink.all()
	if len(sunk) < 50 {
		t.Fatalf("the sink got %d packets", len(sunk))
	}
	seen := map[int]bool{}
	for _, p := range sunk {
		i := frameOf(p.ts)
		if p.pt != opusPayloadType || p.seq != seq0+uint16(i) || !bytes.Equal(p.payload, frame(i)) {
			t.Errorf("sink: pt %d seq %d payload %x at frame %d's timestamp", p.pt, p.seq, p.payload, i)
		}
		seen[i] = true
	}
	first, last := frameOf(sunk[0].ts), frameOf(sunk[len(sunk)-1].ts)
	recovered := 0
	for i := first; i <= last; i++ {
		if !seen[i] {
			t.Errorf("sink: frame %d missing (frames %d to %d)", i, first, last)
		} else if dropped(i) {
			recovered++
		}
	}
	if recovered == 0 {
		t.Errorf("sink: no dropped frame recovered between frames %d and %d", first, last)
	}
	t.Logf("sink: frames %d-%d, %d dropped ones recovered; stats %+v", first, last, recovered, m.REDStats())

	// The RED subscriber: RED, every block the frame of its timestamp.
	redFrames := map[int]bool{}
	for _, p := range redGot.all() {
		if p.PayloadType != redPayloadType {
			t.Fatalf("RED subscriber: payload type %d, want %d", p.PayloadType, redPayloadType)
		}
		blocks, err := parseRED(p.Payload, nil)
		if err != nil {
			t.Fatalf("RED subscriber: %v", err)
		}
		for _, b := range blocks {
			i := frameOf(p.Timestamp - b.tsOffset)
			if !bytes.Equal(b.data, frame(i)) {
				t.Errorf("RED subscriber: block at frame %d's timestamp holds %x", i, b.data)
			}
			redFrames[i] = true
		}
	}
	gotDropped := 0
	for i := range redFrames {
		if dropped(i) {
			gotDropped++
		}
	}
	if gotDropped == 0 {
		t.Error("RED subscriber: no dropped frame in any packet's redundancy")
	}
	// The plain subscriber: the frames as Opus, the dropped ones recovered.
	plainDropped := 0
	for _, p := range plainGot.all() {
		i := frameOf(p.Timestamp)
		if p.PayloadType != opusPayloadType || !bytes.Equal(p.Payload, frame(i)) {
			t.Fatalf("plain subscriber: pt %d payload %x at frame %d's timestamp, want %d %x",
				p.PayloadType, p.Payload, i, opusPayloadType, frame(i))
		}
		if dropped(i) {
			plainDropped++
		}
	}
	if plainDropped == 0 {
		t.Error("plain subscriber: no dropped frame recovered")
	}
	t.Logf("RED subscriber: %d dropped frames in redundancy; plain subscriber: %d recovered", gotDropped, plainDropped)
	removeSink()
	for _, b := range []*browser{pub, redSub, plainSub} {
		b.close()
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	waitGoroutines(t, base)
}

// Handing RED to the sinks and preparing a slot packet allocate nothing
// per packet once warm (the hot path of every audio packet).
func TestREDAllocs(t *testing.T) {
	m := testManager(t, Config{AudioLastN: 3})
	room := m.Room("red")
	defer room.AddAudioSink(chanSink(make(chan string, 1)))()
	var s redSplitter
	var sp slotPayloads
	p1, p3 := redPacket(0, 0, 1), redPacket(0, 0, 3)
	plain := &rtp.Packet{Header: rtp.Header{PayloadType: opusPayloadType, SequenceNumber: 5, Timestamp: 5 * opusFrame}, Payload: frame(5)}
	run := func() {
		s.lossTracker = lossTracker{started: true} // packet 0 was handed on
		s.toSinks(room, "p", p1)
		s.toSinks(room, "p", p3) // recovers 2
		sp.fwd, sp.fwdGen = lossTracker{started: true}, 1
		sp.prepare(p1, 1)
		sp.prepare(p3, 1)
		sp.redFrom(0)
		sp.prepare(plain, 1)
		sp.redFrom(0)
	}
	run()
	run()
	if m.REDStats().Recovered != 2 {
		t.Fatalf("warm-up recovered %d packets, want 2", m.REDStats().Recovered)
	}
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocations per packet, want 0", n)
	}
}
