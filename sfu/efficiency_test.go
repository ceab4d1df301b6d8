package sfu

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// TestRetransmitMapsSequenceNumbers drives one subscriber across a layer
// switch and NACKs packets from before and after it: each comes back from
// the right layer's cache with the subscriber's own sequence number and
// timestamp. Numbers never sent, or gone from the cache, are not answered.
func TestRetransmitMapsSequenceNumbers(t *testing.T) {
	out := &videoOut{clock: 90000}
	for i := range numLayers {
		out.layers[i] = &layerIn{}
		out.layers[i].cache.size = cacheSizes[i]
	}
	d := newDownTrack(out, nil, nil)
	now := time.Unix(1000, 0)
	seq := [numLayers]uint16{100, 65500, 7}
	ts := [numLayers]uint32{1000, 5_000_000, 4_294_960_000}
	type sent struct {
		h       rtp.Header
		payload []byte
	}
	var got []sent // what the subscriber received
	frame := func(keys ...int) {
		for l := range numLayers {
			h := rtp.Header{SequenceNumber: seq[l], Timestamp: ts[l], Marker: true}
			payload := fmt.Appendf(nil, "layer %d seq %d", l, seq[l])
			out.layers[l].cache.add(&h, payload, false)
			if o, ok, _ := d.rewrite(l, &h, slices.Contains(keys, l), now); ok {
				got = append(got, sent{o, payload})
			}
			seq[l]++
			ts[l] += 3000
		}
		now = now.Add(33 * time.Millisecond)
	}
	d.setTarget(0)
	frame(0)
	for range 5 {
		frame()
	}
	d.setTarget(2)
	frame()
	frame(2) // the switch to layer 2
	for range 5 {
		frame()
	}
	if len(got) != 14 {
		t.Fatalf("forwarded %d packets, want 14", len(got))
	}
	for _, i := range []int{0, 3, 7, 8, 9, 13} { // before, at and after the switch (packet 8)
		want := got[i]
		layer, in, tsOff, ok := d.source(want.h.SequenceNumber)
		if !ok {
			t.Errorf("packet %d (seq %d): not found", i, want.h.SequenceNumber)
			continue
		}
		cts, marker, payload, ok := out.layers[layer].cache.get(in)
		if !ok || !bytes.Equal(payload, want.payload) || cts+tsOff != want.h.Timestamp || !marker {
			t.Errorf("packet %d (seq %d): got layer %d seq %d %q ts %d, want %q ts %d",
				i, want.h.SequenceNumber, layer, in, payload, cts+tsOff, want.payload, want.h.Timestamp)
		}
	}
	last := got[len(got)-1].h.SequenceNumber
	if _, _, _, ok := d.source(last + 1); ok {
		t.Error("a sequence number not sent yet was mapped")
	}
	// A layer packet its cache's size numbers later replaces the old one;
	// one less does not.
	l0 := out.layers[0]
	first := got[0].h.SequenceNumber
	size := uint16(cacheSizes[0])
	if _, _, _, ok := l0.cache.get(first); !ok {
		t.Fatal("first packet not in the cache")
	}
	l0.cache.add(&rtp.Header{SequenceNumber: first + size - 1}, []byte("newer"), false)
	if _, _, _, ok := l0.cache.get(first); !ok {
		t.Error("packet lost from the cache before its slot was reused")
	}
	l0.cache.add(&rtp.Header{SequenceNumber: first + size}, []byte("newer"), false)
	if _, _, _, ok := l0.cache.get(first); ok {
		t.Error("packet overwritten in the cache still returned")
	}
}

// TestNACKAnsweredFromCache: a subscriber pretends to lose a packet of a
// publisher's video and NACKs it; the SFU sends it again with the same
// sequence number and payload, from the layer's shared cache.
func TestNACKAnsweredFromCache(t *testing.T) {
	base := runtime.NumGoroutine()
	m := testManager(t, Config{ICEIPs: []string{"127.0.0.1"}})
	room := m.Room("nack")
	cam, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		"cam", "ann-cam", webrtc.WithRTPStreamID("f"))
	if err != nil {
		t.Fatal(err)
	}
	a := joinBrowser(t, room, "Ann", cam)
	b := joinReplaying(t, room, "Bob")
	b.waitRoster(hasID(a.peer.ID()))
	// Like a browser, the publisher names the media section and the layer
	// in header extensions (see TestSimulcastLayers).
	var midID, ridID uint8
	var mid string
	deadline := time.Now().Add(testTimeout)
	for midID == 0 || ridID == 0 || mid == "" {
		if time.Now().After(deadline) {
			t.Fatal("publisher never negotiated the mid and RID extensions")
		}
		time.Sleep(20 * time.Millisecond)
		for _, tr := range a.pc.GetTransceivers() {
			if s := tr.Sender(); s != nil && s.Track() == cam {
				mid = tr.Mid()
				for _, e := range s.GetParameters().HeaderExtensions {
					switch e.URI {
					case sdp.SDESMidURI:
						midID = uint8(e.ID)
					case sdp.SDESRTPStreamIDURI:
						ridID = uint8(e.ID)
					}
				}
			}
		}
	}

	stop := make(chan struct{})
	var n atomic.Uint32
	go pace(stop, func() {
		i := n.Add(1)
		payload := vp8Frame(i%30 == 1, 640, 360, 2)
		payload = fmt.Appendf(payload, "packet %d", i)
		h := rtp.Header{Version: 2, SequenceNumber: uint16(40000 + i), Timestamp: i * 3000, Marker: true}
		_ = h.SetExtension(midID, []byte(mid))
		_ = h.SetExtension(ridID, []byte("f"))
		_ = cam.WriteRTP(&rtp.Packet{Header: h, Payload: payload})
	})
	halt := sync.OnceFunc(func() { close(stop) })
	defer halt()
	tr := b.waitTrack(a.peer.ID())

	deadline = time.Now().Add(testTimeout)
	var lost *rtp.Packet
	nacks := 0
	for time.Now().Before(deadline) {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			t.Fatalf("read rtp: %v", err)
		}
		switch {
		case lost == nil:
			lost = pkt // the packet we pretend never arrived
		case pkt.SequenceNumber == lost.SequenceNumber:
			if !bytes.Equal(pkt.Payload, lost.Payload) {
				t.Fatalf("retransmission of %d: payload %q, want %q", pkt.SequenceNumber, pkt.Payload, lost.Payload)
			}
			halt()
			b.close()
			a.close()
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			waitGoroutines(t, base)
			return
		case pkt.SequenceNumber-lost.SequenceNumber > 3 && nacks < 20:
			// NACK until it comes: RTCP is UDP too.
			nacks++
			if err := b.pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: uint32(tr.SSRC()),
				Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{lost.SequenceNumber})}}); err != nil {
				t.Fatalf("send nack: %v", err)
			}
		}
	}
	t.Fatalf("packet %d never retransmitted (%d NACKs sent)", lost.SequenceNumber, nacks)
}

// joinReplaying joins a subscriber without SRTP replay protection: the
// packet it pretends to lose did arrive, and its retransmission has the
// same sequence number.
func joinReplaying(t *testing.T, room *Room, name string) *browser {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.DisableSRTPReplayProtection(true)
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, pc: pc, sig: newFakeSignaller(), tracks: make(chan *webrtc.TrackRemote, 8), done: make(chan struct{})}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { b.tracks <- tr })
	if b.peer, err = room.Join(name, b.sig); err != nil {
		t.Fatalf("join %s: %v", name, err)
	}
	go b.answerLoop()
	t.Cleanup(b.close)
	return b
}

// talkAt sends Opus packets from a browser's microphone carrying the RFC 6464
// level dBov (0 loudest, 127 silence) under AudioLevelID, every 20 ms. The
// payload is Opus silence followed by mark, so a receiver can tell whose
// packet it got.
func talkAt(mic *webrtc.TrackLocalStaticRTP, level *atomic.Int32, mark byte, stop <-chan struct{}) {
	var seq uint16
	var ts uint32
	payload := append(slices.Clone(silence), mark)
	pace(stop, func() {
		seq++
		ts += 960
		h := rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}
		_ = h.SetExtension(AudioLevelID, []byte{0x80 | byte(level.Load())})
		_ = mic.WriteRTP(&rtp.Packet{Header: h, Payload: payload})
	})
}

// TestAudioLastN: four browsers talk at different levels; a listener
// receives the audio of the three loudest only, on its three audio slots. A
// louder fifth talker takes the place of the quietest.
func TestAudioLastN(t *testing.T) {
	base := runtime.NumGoroutine()
	m := testManager(t, Config{ICEIPs: []string{"127.0.0.1"}, AudioLastN: 3})
	room := m.Room("lastn")
	opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	listener := joinBrowser(t, room, "Listener", nil)
	stop := make(chan struct{})
	type talker struct {
		b     *browser
		level atomic.Int32
		got   atomic.Int64 // packets the listener received from it
	}
	var talkers []*talker
	add := func(name string, dBov int32) *talker {
		mic, err := webrtc.NewTrackLocalStaticRTP(opus, "mic", name)
		if err != nil {
			t.Fatal(err)
		}
		tk := &talker{b: joinBrowser(t, room, name, mic)}
		tk.level.Store(dBov)
		mark := byte(len(talkers))
		talkers = append(talkers, tk)
		go talkAt(mic, &tk.level, mark, stop)
		return tk
	}
	for i, lvl := range []int32{10, 20, 30, 40} {
		add(fmt.Sprintf("talker%d", i), lvl)
	}
	// Count what the listener receives per talker: the slots carry
	// whoever is audible, so the payload's mark tells who sent it.
	four := slices.Clone(talkers)
	onSlotPackets(listener, func(_ *webrtc.TrackRemote, pkt *rtp.Packet) {
		if n := len(pkt.Payload); n > 0 && int(pkt.Payload[n-1]) < 4 {
			four[pkt.Payload[n-1]].got.Add(1)
		}
	})
	// receiving reports which talkers' packets arrive within a second.
	receiving := func() []int {
		var before [4]int64
		for i, tk := range talkers[:4] {
			before[i] = tk.got.Load()
		}
		time.Sleep(time.Second) // a measuring window, not a wait for an event
		var on []int
		for i, tk := range talkers[:4] {
			if tk.got.Load()-before[i] > 10 {
				on = append(on, i)
			}
		}
		return on
	}
	waitFor := func(what string, want []int) {
		t.Helper()
		deadline := time.Now().Add(testTimeout)
		var got []int
		for time.Now().Before(deadline) {
			if got = receiving(); slices.Equal(got, want) {
				return
			}
		}
		t.Fatalf("%s: listener receives talkers %v, want %v (audible set %v)", what, got, want, room.speakers.audibleSet())
	}
	waitFor("four talkers", []int{0, 1, 2})

	// A louder newcomer replaces the quietest of the three.
	loud := add("loud", 0)
	deadline := time.Now().Add(testTimeout)
	for !slices.Contains(room.speakers.audibleSet(), loud.b.peer.ID()) {
		if time.Now().After(deadline) {
			t.Fatalf("the loudest talker never became audible (set %v)", room.speakers.audibleSet())
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitFor("after the louder talker", []int{0, 1})
	if set := room.speakers.audibleSet(); slices.Contains(set, talkers[2].b.peer.ID()) || len(set) != 3 {
		t.Errorf("audible set %v: want the three loudest without talker2", set)
	}

	close(stop)
	for _, tk := range talkers {
		tk.b.close()
	}
	listener.close()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	waitGoroutines(t, base)
}

// levelTalker returns a function that feeds s packets audio levels (dBov)
// per member, advancing *now by 20 ms per packet.
func levelTalker(s *speakers, now *time.Time) func(levels map[string]uint8, packets int) {
	return func(levels map[string]uint8, packets int) {
		for range packets {
			*now = now.Add(20 * time.Millisecond)
			for id, l := range levels {
				s.level(id, l, *now)
			}
		}
	}
}

// TestSpeakersAudibleHysteresis: the audible set keeps a quiet member
// until someone clearly louder needs the place.
func TestSpeakersAudibleHysteresis(t *testing.T) {
	s := newSpeakers()
	s.setLastN(2)
	now := time.Unix(1000, 0)
	talk := levelTalker(s, &now)
	talk(map[string]uint8{"a": 10, "b": 20, "c": 30}, 100)
	if got := s.audibleSet(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("set %v, want [a b]", got)
	}
	// c slightly louder than b: not enough to take b's place.
	talk(map[string]uint8{"a": 10, "b": 20, "c": 17}, 100)
	if got := s.audibleSet(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("set %v after a slightly louder c, want [a b]", got)
	}
	// b falls silent (DTX sends nothing): b keeps its place while nobody new talks.
	talk(map[string]uint8{"a": 10}, 100)
	if got := s.audibleSet(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("set %v after b fell silent, want [a b]", got)
	}
	// c talks again, now louder than the silent b.
	talk(map[string]uint8{"a": 10, "c": 30}, 100)
	if got := s.audibleSet(); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("set %v after c talks over a silent b, want [a c]", got)
	}
	if !s.isAudible("a") || s.isAudible("b") {
		t.Error("isAudible disagrees with the set")
	}
	// A client whose audio carries no level cannot be ranked: always audible.
	s.unleveled("x")
	talk(map[string]uint8{"a": 10, "c": 30}, 20)
	if !s.isAudible("x") || !s.isAudible("a") || !s.isAudible("c") {
		t.Error("an unleveled participant, or a ranked one beside it, is not audible")
	}
	s.remove("x", now)
	if s.isAudible("x") {
		t.Error("an unleveled participant who left is still audible")
	}
	s.remove("a", now)
	if got := s.audibleSet(); !slices.Equal(got, []string{"c"}) {
		t.Errorf("set %v after a left, want [c]", got)
	}
	s.setLastN(0)
	if !s.isAudible("b") {
		t.Error("with last-N off, b is not audible")
	}
}
