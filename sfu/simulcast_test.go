package sfu

import (
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// vp8Frame builds a one-packet VP8 payload: a keyframe (with its size) or a
// delta frame; the last byte names the layer so tests see what arrives.
func vp8Frame(key bool, w, h int, layer byte) []byte {
	tag := byte(0x01) // P=1: delta frame
	if key {
		tag = 0x00
	}
	return []byte{0x10, tag, 0, 0, 0x9d, 0x01, 0x2a, byte(w), byte(w >> 8), byte(h), byte(h >> 8), layer}
}

func TestParseFrame(t *testing.T) {
	tests := []struct {
		name    string
		mime    string
		payload []byte
		want    frameInfo
	}{
		{"vp8 keyframe", mimeVP8, vp8Frame(true, 1280, 720, 0), frameInfo{keyframe: true, width: 1280, height: 720}},
		{"vp8 delta", mimeVP8, vp8Frame(false, 1280, 720, 0), frameInfo{}},
		{"vp8 not partition start", mimeVP8, []byte{0x00, 0x00, 0, 0}, frameInfo{}},
		{"vp8 extended picture id", mimeVP8, []byte{0x90, 0x80, 0x81, 0x02, 0x00, 0, 0, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00}, frameInfo{keyframe: true, width: 320, height: 180}},
		{"vp8 truncated", mimeVP8, []byte{0x90}, frameInfo{}},
		{"vp8 empty", mimeVP8, nil, frameInfo{}},
		{"h264 idr", mimeH264, []byte{0x65, 0x88}, frameInfo{keyframe: true}},
		{"h264 stap-a with sps", mimeH264, []byte{0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}, frameInfo{keyframe: true}},
		{"h264 fu-a idr start", mimeH264, []byte{0x7c, 0x85}, frameInfo{keyframe: true}},
		{"h264 fu-a idr middle", mimeH264, []byte{0x7c, 0x05}, frameInfo{}},
		{"h264 non-idr", mimeH264, []byte{0x41, 0x9a}, frameInfo{}},
		{"h264 bad stap-a", mimeH264, []byte{0x18, 0xff, 0xff}, frameInfo{}},
		{"unknown codec", "video/AV1", []byte{0x10, 0x00}, frameInfo{}},
	}
	for _, tt := range tests {
		if got := parseFrame(tt.mime, tt.payload); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func FuzzParseFrame(f *testing.F) {
	f.Add(vp8Frame(true, 640, 360, 1))
	f.Add([]byte{0x90, 0xe0, 0x81, 0x02, 0x03, 0x04, 0x00})
	f.Add([]byte{0x18, 0x00, 0x02, 0x67, 0x42})
	f.Add([]byte{0x7c, 0x85})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range []string{mimeVP8, mimeH264} {
			info := parseFrame(m, b)
			if info.width < 0 || info.width > 0x3fff || info.height < 0 || info.height > 0x3fff {
				t.Errorf("%s: size %dx%d out of range", m, info.width, info.height)
			}
		}
	})
}

// TestDownTrackSwitch drives one subscriber's forwarding packet by packet:
// a switch waits for the new layer's keyframe, forwarding the old layer
// until then, and the subscriber's sequence numbers and timestamps run on
// without a gap or a step back.
func TestDownTrackSwitch(t *testing.T) {
	out := &videoOut{clock: 90000}
	d := newDownTrack(out, nil, nil)
	now := time.Unix(1000, 0)
	// Each layer has its own sequence numbers and timestamps.
	seq := [numLayers]uint16{100, 30000, 65530}
	ts := [numLayers]uint32{1000, 5_000_000, 4_294_960_000}
	var got []int // layer of each forwarded packet
	var lastSeq uint16
	var lastTS uint32
	first := true
	send := func(l int, key bool) {
		t.Helper()
		h := rtp.Header{SequenceNumber: seq[l], Timestamp: ts[l]}
		seq[l]++
		ts[l] += 3000
		o, ok, _ := d.rewrite(l, &h, key, now)
		if !ok {
			return
		}
		if !first {
			if o.SequenceNumber != lastSeq+1 {
				t.Errorf("packet %d (layer %d): sequence number %d, want %d", len(got), l, o.SequenceNumber, lastSeq+1)
			}
			if diff := o.Timestamp - lastTS; diff == 0 || diff > 90000 {
				t.Errorf("packet %d (layer %d): timestamp step %d, want 1..90000", len(got), l, diff)
			}
		}
		first, lastSeq, lastTS = false, o.SequenceNumber, o.Timestamp
		got = append(got, l)
	}
	frame := func(keys ...int) { // one frame on every layer; keys lists keyframe layers
		for l := range numLayers {
			send(l, containsInt(keys, l))
		}
		now = now.Add(33 * time.Millisecond)
	}

	if d.setTarget(1) != true {
		t.Error("setTarget(1) on a new downTrack: want a keyframe request")
	}
	frame()  // no keyframe yet: nothing is sent
	frame(0) // a keyframe of another layer: still nothing
	if len(got) != 0 {
		t.Fatalf("before the target's keyframe: got %v, want nothing", got)
	}
	frame(1) // h starts
	frame()
	d.setTarget(0)
	frame(2) // f's keyframe does not matter; h goes on
	frame()
	frame(0) // q's keyframe: switch
	frame()
	d.setTarget(2)
	frame(2)
	d.setTarget(layerOff)
	frame(0, 1, 2)
	d.setTarget(2)
	frame()
	frame(2)
	want := []int{1, 1, 1, 1, 0, 0, 0, 2, 2}
	if !equalInts(got, want) {
		t.Errorf("forwarded layers: got %v, want %v", got, want)
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAllocate(t *testing.T) {
	live := func() [numLayers]layerState {
		var st [numLayers]layerState
		for i := range st {
			div := 1 << (numLayers - 1 - i)
			st[i] = layerState{present: true, live: true, w: 1280 / div, h: 720 / div, bps: nominalRate[i]}
		}
		return st
	}
	onlyF := live()
	onlyF[0].present, onlyF[1].present = false, false
	noF := live()
	noF[2].live = false // the publisher stopped sending it (its own uplink)
	pausedF := noF
	pausedF[2].paused = true // the SFU paused it: it can be resumed
	tile := func(w, h int) TileView { return TileView{Width: w, Height: h} }
	tests := []struct {
		name   string
		tracks []allocTrack
		budget int
		want   []int
	}{
		{"small tile gets q", []allocTrack{{layers: live(), tile: tile(200, 112), shown: true}}, 0, []int{0}},
		{"medium tile gets h", []allocTrack{{layers: live(), tile: tile(640, 360), shown: true}}, 0, []int{1}},
		{"large tile gets f", []allocTrack{{layers: live(), tile: tile(1200, 675), shown: true}}, 0, []int{2}},
		{"off screen gets nothing", []allocTrack{{layers: live(), tile: tile(1200, 675)}}, 0, []int{layerOff}},
		{"single layer", []allocTrack{{layers: onlyF, tile: tile(100, 60), shown: true}}, 0, []int{2}},
		{"f not sent: h", []allocTrack{{layers: noF, tile: tile(1200, 675), shown: true}}, 0, []int{1}},
		{"f paused by the SFU: f", []allocTrack{{layers: pausedF, tile: tile(1200, 675), shown: true}}, 0, []int{2}},
		{"budget lowers the least recent speaker first", []allocTrack{
			{layers: live(), tile: tile(1200, 675), shown: true, lastSpoke: 2},
			{layers: live(), tile: tile(1200, 675), shown: true, lastSpoke: 1},
		}, 2_200_000, []int{2, 1}},
		{"then pauses the least recent speaker", []allocTrack{
			{layers: live(), tile: tile(1200, 675), shown: true, lastSpoke: 2},
			{layers: live(), tile: tile(1200, 675), shown: true, lastSpoke: 1},
		}, 200_000, []int{0, layerOff}},
		{"the most recent speaker keeps its lowest layer", []allocTrack{
			{layers: live(), tile: tile(1200, 675), shown: true, lastSpoke: 2},
			{layers: live(), tile: tile(1200, 675), shown: true, lastSpoke: 1},
		}, 1, []int{0, layerOff}},
		{"screen share before faces", []allocTrack{
			{layers: live(), tile: tile(1200, 675), shown: true, lastSpoke: 2},
			{layers: onlyF, tile: tile(1200, 675), shown: true, screen: true},
		}, 1_700_000, []int{0, 2}},
	}
	for _, tt := range tests {
		if got := allocate(tt.tracks, tt.budget); !equalInts(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSpeakers(t *testing.T) {
	s := newSpeakers()
	now := time.Unix(1000, 0)
	var dominant []string
	var speaking []string
	talk := func(id string, dBov uint8, n int) {
		for range n {
			now = now.Add(20 * time.Millisecond)
			ev, ok := s.level(id, dBov, now)
			if !ok {
				continue
			}
			if ev.dominant != nil {
				dominant = append(dominant, *ev.dominant)
			}
			for who, on := range ev.speaking {
				if on {
					speaking = append(speaking, who)
				}
			}
		}
	}
	talk("ann", 30, 5) // a short sound does not take the floor
	if len(dominant) != 0 {
		t.Errorf("after 100 ms of speech: dominant %v, want none", dominant)
	}
	for range 50 { // two seconds: Ann speaks, Bob is quiet
		talk("ann", 30, 1)
		talk("bob", 120, 1)
	}
	for range 100 { // then Bob speaks and Ann is quiet
		talk("ann", 120, 1)
		talk("bob", 25, 1)
	}
	if want := []string{"ann", "bob"}; strings.Join(dominant, ",") != strings.Join(want, ",") {
		t.Errorf("dominant speakers: got %v, want %v", dominant, want)
	}
	if want := []string{"ann", "bob"}; strings.Join(speaking, ",") != strings.Join(want, ",") {
		t.Errorf("started speaking: got %v, want %v", speaking, want)
	}
	if s.lastSpoke("bob") <= s.lastSpoke("ann") || s.lastSpoke("carl") != 0 {
		t.Errorf("lastSpoke: ann %d, bob %d, carl %d; want bob after ann, carl 0",
			s.lastSpoke("ann"), s.lastSpoke("bob"), s.lastSpoke("carl"))
	}
	// A phone caller the mixer hears takes the floor from a silent room.
	talk("bob", 127, 50)
	ev, _ := s.phone("phone-1", true, now)
	if ev.dominant == nil || *ev.dominant != "phone-1" {
		t.Errorf("phone speaking: got dominant %v, want phone-1", ev.dominant)
	}
	ev, _ = s.remove("phone-1", now)
	if ev.dominant == nil || *ev.dominant != "" {
		t.Errorf("dominant speaker left: got %v, want \"\"", ev.dominant)
	}
}

func TestOfferSimulcast(t *testing.T) {
	offer := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=recvonly\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=recvonly\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=sendonly\r\n"
	want := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=recvonly\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=recvonly\r\n" +
		"a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=sendonly\r\n"
	if got := offerSimulcast(offer); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	if got := offerSimulcast(want); got != want {
		t.Errorf("twice: got\n%q\nwant it unchanged", got)
	}
}

// simulcastAPI is a pion API that can send simulcast (mid and RID header
// extensions), like a browser.
func simulcastAPI(t *testing.T) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
}

// TestSimulcastLayers: a pion publisher sends three layers; the subscriber
// gets the middle one without a view (a subscriber that sends none gets
// the camera once viewGrace passed), the small one for a small tile, the
// full one for a large tile and nothing off screen. Every switch starts with
// a keyframe and the subscriber's sequence numbers run on.
func TestSimulcastLayers(t *testing.T) {
	m := testManager(t, Config{ICEIPs: []string{"127.0.0.1"}})
	room := m.Room("simulcast")
	vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	var layers [numLayers]*webrtc.TrackLocalStaticRTP
	var err error
	for i, rid := range layerRIDs {
		if layers[i], err = webrtc.NewTrackLocalStaticRTP(vp8, "cam", "ann-cam", webrtc.WithRTPStreamID(rid)); err != nil {
			t.Fatal(err)
		}
	}
	pc, err := simulcastAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	sender, err := pc.AddTrack(layers[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers[1:] {
		if err := sender.AddEncoding(l); err != nil {
			t.Fatal(err)
		}
	}
	ann := &browser{t: t, pc: pc, sig: newFakeSignaller(), tracks: make(chan *webrtc.TrackRemote, 8), done: make(chan struct{})}
	if ann.peer, err = room.Join("Ann", ann.sig); err != nil {
		t.Fatal(err)
	}
	go ann.answerLoop()
	t.Cleanup(ann.close)
	bob := joinBrowser(t, room, "Bob", nil)

	// Like a browser, the publisher names each packet's media section and
	// layer in the mid and RID header extensions (pion leaves that to us).
	var midID, ridID uint8
	var mid string
	deadline := time.Now().Add(testTimeout)
	for midID == 0 || ridID == 0 || mid == "" {
		if time.Now().After(deadline) {
			t.Fatal("publisher never negotiated the mid and RID extensions")
		}
		time.Sleep(20 * time.Millisecond)
		for _, e := range sender.GetParameters().HeaderExtensions {
			switch e.URI {
			case sdp.SDESMidURI:
				midID = uint8(e.ID)
			case sdp.SDESRTPStreamIDURI:
				ridID = uint8(e.ID)
			}
		}
		for _, tr := range pc.GetTransceivers() {
			if tr.Sender() == sender {
				mid = tr.Mid()
			}
		}
	}

	// The publisher: 30 frames a second on each active layer, a keyframe
	// every 10 frames, at a different frame on each layer, and one when a
	// layer starts. Like a browser it sends the layers that publish
	// messages list; f does not start on its own (a slow uplink), so the
	// SFU must ask for it.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		sizes := [numLayers][2]int{{320, 180}, {640, 360}, {1280, 720}}
		active := [numLayers]bool{true, true, false}
		var seq [numLayers]uint16
		tick := time.NewTicker(33 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			var started [numLayers]bool
			select {
			case <-stop:
				return
			case p := <-ann.sig.publish:
				for i, rid := range layerRIDs {
					on := slices.Contains(p.Layers, rid)
					started[i] = on && !active[i]
					active[i] = on
				}
			case <-tick.C:
			}
			for i, l := range layers {
				if !active[i] {
					continue
				}
				seq[i]++
				key := (n+3*i)%10 == 0 || started[i]
				h := rtp.Header{Version: 2, Marker: true, SequenceNumber: seq[i] + uint16(i)*20000, Timestamp: uint32(n * 3000)}
				_ = h.SetExtension(midID, []byte(mid))
				_ = h.SetExtension(ridID, []byte(layerRIDs[i]))
				_ = l.WriteRTP(&rtp.Packet{Header: h, Payload: vp8Frame(key, sizes[i][0], sizes[i][1], byte(i))})
			}
		}
	}()

	track := bob.waitTrack(ann.peer.ID())
	var lastSeq atomic.Uint32
	lastLayer := -1
	// expect reads until the layer is want, checking every packet.
	expect := func(want int, what string) {
		t.Helper()
		deadline := time.Now().Add(testTimeout)
		for {
			_ = track.SetReadDeadline(deadline)
			pkt, _, err := track.ReadRTP()
			if err != nil {
				t.Fatalf("%s: waiting for layer %d: %v", what, want, err)
			}
			p := pkt.Payload
			if len(p) != 12 {
				continue
			}
			layer := int(p[11])
			if layer != lastLayer {
				if p[1]&0x01 != 0 {
					t.Errorf("%s: switch to layer %d on a delta frame", what, layer)
				}
				lastLayer = layer
			}
			if prev := uint16(lastSeq.Load()); lastSeq.Load() != 0 && pkt.SequenceNumber-prev != 1 {
				t.Errorf("%s: sequence number %d after %d", what, pkt.SequenceNumber, prev)
			}
			lastSeq.Store(uint32(pkt.SequenceNumber) | 1<<16)
			if layer == want {
				return
			}
		}
	}
	expect(1, "no view yet")
	bob.peer.SetView([]TileView{{ID: ann.peer.ID(), Width: 160, Height: 90}})
	expect(0, "small tile")
	waitLayerInfo(t, bob.sig, ann.peer.ID(), "q")
	bob.peer.SetView([]TileView{{ID: ann.peer.ID(), Width: 1280, Height: 720}})
	expect(2, "large tile")
	waitLayerInfo(t, bob.sig, ann.peer.ID(), "f")
	bob.peer.SetView(nil)
	waitLayerInfo(t, bob.sig, ann.peer.ID(), "")
	// Packets already on the way may still come; then nothing for a second.
	_ = track.SetReadDeadline(time.Now().Add(testTimeout))
	quiet := time.Now()
	for time.Since(quiet) < time.Second {
		_ = track.SetReadDeadline(time.Now().Add(time.Second))
		if _, _, err := track.ReadRTP(); err != nil {
			break
		}
		if time.Since(quiet) > 500*time.Millisecond {
			t.Fatal("off screen: packets still arrive after 500 ms")
		}
	}
}

// waitLayerInfo waits until sig was told that it receives layer of id.
func waitLayerInfo(t *testing.T, sig *fakeSignaller, id, layer string) {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		select {
		case infos := <-sig.layers:
			for _, l := range infos {
				if l.ID == id && l.Layer == layer {
					return
				}
			}
		case <-deadline:
			t.Fatalf("no layers message with %s at %q", id, layer)
		}
	}
}

// TestLayerStartTimeout: a layer the SFU asks for that never arrives counts
// as absent for a while, so subscribers do not flip between asking for it
// and pausing it; then it is tried again.
func TestLayerStartTimeout(t *testing.T) {
	o := newVideoOut(nil, "v", webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimeVP8, ClockRate: 90000}})
	now := time.Unix(1000, 0)
	for _, rid := range layerRIDs {
		o.expect(rid)
	}
	for i := range 2 { // q and h arrive, f never does
		o.layers[i] = &layerIn{}
	}
	o.told, o.demand = true, [numLayers]bool{false, true, true}
	usable := func(at time.Time) [numLayers]bool {
		for i := range 2 {
			o.layers[i].lastAt.Store(at.UnixNano())
		}
		var u [numLayers]bool
		for i, s := range o.state(at) {
			u[i] = s.usable()
		}
		return u
	}
	if got := usable(now); got != [numLayers]bool{true, true, false} {
		t.Errorf("f asked for, not arriving: usable %v, want f not usable", got)
	}
	o.demand = [numLayers]bool{false, true, false}
	if got := usable(now.Add(time.Second)); !got[2] {
		t.Errorf("f paused again within layerStart: usable %v, want f usable (resumable)", got)
	}
	o.demand = [numLayers]bool{false, true, true}
	usable(now.Add(2 * time.Second))
	if got := usable(now.Add(2*time.Second + layerStart + time.Millisecond)); got[2] {
		t.Errorf("f asked for longer than layerStart: usable %v, want f absent", got)
	}
	o.demand = [numLayers]bool{false, true, false}
	if got := usable(now.Add(3*time.Second + layerStart)); got[2] {
		t.Errorf("f paused after failing to start: usable %v, want f still absent", got)
	}
	if got := usable(now.Add(3*time.Second + layerStart + layerRetry)); !got[2] {
		t.Errorf("after layerRetry: usable %v, want f usable again", got)
	}
}

// BenchmarkVideoFanout measures the SFU's own work per inbound video packet
// with 25 subscribers, half of them on this layer: keyframe parsing, layer
// choice and header rewriting (pion's SRTP and the socket write excluded:
// the tracks have no bindings).
func BenchmarkVideoFanout(b *testing.B) {
	codec := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimeVP8, ClockRate: 90000}}
	o := newVideoOut(nil, "v", codec)
	l, i := o.addLayer("h", 1, nil)
	for n := range 25 {
		local, err := webrtc.NewTrackLocalStaticRTP(codec.RTPCodecCapability, "v", "s")
		if err != nil {
			b.Fatal(err)
		}
		d := newDownTrack(o, &Peer{kicks: make(chan struct{}, 1)}, local)
		d.setTarget(n % 2)
		o.addDown(d)
	}
	key := &rtp.Packet{Header: rtp.Header{Version: 2}, Payload: vp8Frame(true, 640, 360, 1)}
	o.receive(i, l, key, time.Now()) // starts the subscribers on h
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2}, Payload: make([]byte, 1100)}
	pkt.Payload[0] = 0x10
	pkt.Payload[1] = 0x01
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for n := range b.N {
		pkt.SequenceNumber = uint16(n)
		pkt.Timestamp = uint32(n / 4 * 3000)
		o.receive(i, l, pkt, now)
	}
}

// TestSpeakerForLateJoiner: the dominant speaker is announced on a change,
// and told to a browser that joins later.
func TestSpeakerForLateJoiner(t *testing.T) {
	m := testManager(t, Config{ICEIPs: []string{"127.0.0.1"}})
	room := m.Room("speaker")
	ann := joinBrowser(t, room, "Ann", nil)
	ph, err := room.AddPhone(PhoneInfo{ID: "phone-1"})
	if err != nil {
		t.Fatal(err)
	}
	ph.SetSpeaking(true)
	for _, b := range []*browser{ann, joinBrowser(t, room, "Bob", nil)} {
		select {
		case id := <-b.sig.speaker:
			if id != "phone-1" {
				t.Errorf("speaker: got %q, want phone-1", id)
			}
		case <-time.After(testTimeout):
			t.Error("no speaker message")
		}
	}
	ph.Leave()
	select {
	case id := <-ann.sig.speaker:
		if id != "" {
			t.Errorf("speaker after the phone left: got %q, want \"\"", id)
		}
	case <-time.After(testTimeout):
		t.Error("no speaker message after the phone left")
	}
}

// With audio last-N, the bandwidth kept for audio counts the audible
// streams, not every audio track the subscriber holds.
func TestAudioStreamsReserved(t *testing.T) {
	for _, c := range []struct{ tracks, lastN, want int }{
		{0, 3, 0}, {2, 3, 2}, {4, 3, 4}, {24, 3, 4}, {24, 0, 24}, {1, 1, 1}, {5, 1, 2},
	} {
		if got := audioStreams(c.tracks, c.lastN); got != c.want {
			t.Errorf("audioStreams(%d tracks, last-N %d) = %d, want %d", c.tracks, c.lastN, got, c.want)
		}
	}
}

// A keyframe is asked of a layer only while it arrives: a paused or not yet
// started layer cannot answer (and starts with a keyframe when it resumes).
func TestKeyframeOnlyOfArrivingLayer(t *testing.T) {
	o := newVideoOut(nil, "cam", webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}})
	asked := 0
	l, i := o.addLayer("f", 3, func() { asked++ })
	o.keyframe(i)
	if asked != 0 {
		t.Errorf("keyframe asked of a layer that never arrived")
	}
	o.receive(i, l, &rtp.Packet{Header: rtp.Header{SSRC: 3, SequenceNumber: 1}, Payload: []byte{0x10, 0, 0}}, time.Now())
	o.keyframe(i)
	if asked != 1 {
		t.Errorf("keyframe of an arriving layer: asked %d times, want 1", asked)
	}
	l.lastAt.Store(time.Now().Add(-2 * layerLive).UnixNano()) // the publisher paused it
	o.keyframe(i)
	if asked != 1 {
		t.Errorf("keyframe asked of a layer that stopped arriving")
	}
}
