package sfu

import (
	"log/slog"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 15 * time.Second

// fakeSignaller records what the SFU sends to one browser.
type fakeSignaller struct {
	offers   chan string
	rosters  chan Roster
	speaking chan Participant
	chats    chan ChatMessage
	controls chan Control
	layers   chan []LayerInfo
	publish  chan PublishInfo
	speaker  chan string
	offered  atomic.Int64 // offers sent so far
}

func newFakeSignaller() *fakeSignaller {
	return &fakeSignaller{offers: make(chan string, 32), rosters: make(chan Roster, 64),
		speaking: make(chan Participant, 64), chats: make(chan ChatMessage, 256), controls: make(chan Control, 16),
		layers: make(chan []LayerInfo, 64), publish: make(chan PublishInfo, 64), speaker: make(chan string, 64)}
}

func (f *fakeSignaller) Chat(m ChatMessage) {
	select {
	case f.chats <- m:
	default:
	}
}
func (f *fakeSignaller) Control(c Control) {
	select {
	case f.controls <- c:
	default:
	}
}

func (f *fakeSignaller) Offer(sdp string) { f.offered.Add(1); f.offers <- sdp }

func (f *fakeSignaller) Layers(l []LayerInfo) {
	select {
	case f.layers <- l:
	default:
	}
}

func (f *fakeSignaller) Publish(p PublishInfo) {
	select {
	case f.publish <- p:
	default:
	}
}

func (f *fakeSignaller) Speaker(id string) {
	select {
	case f.speaker <- id:
	default:
	}
}
func (f *fakeSignaller) Roster(r Roster) {
	select {
	case f.rosters <- r:
	default:
	}
}
func (f *fakeSignaller) Speaking(id string, s bool) {
	select {
	case f.speaking <- Participant{ID: id, Speaking: s}:
	default:
	}
}

// browser is a pion PeerConnection on loopback acting as a browser client.
type browser struct {
	t      *testing.T
	pc     *webrtc.PeerConnection
	sig    *fakeSignaller
	peer   *Peer
	tracks chan *webrtc.TrackRemote
	done   chan struct{}
}

// testManager is an SFU with cfg and a silent log, closed when the test
// ends (Close may also be called by the test: it is idempotent).
func testManager(tb testing.TB, cfg Config) *Manager {
	tb.Helper()
	m, err := NewManager(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = m.Close() })
	return m
}

func loopbackAPI(t *testing.T) *webrtc.API { return newLoopbackAPI(t, false) }

// newLoopbackAPI is a browser's API on loopback; with red it also
// negotiates Opus RED, preferred as Chrome does.
func newLoopbackAPI(t *testing.T, red bool) *webrtc.API {
	t.Helper()
	me, se := loopbackEngines(t, red)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
}

// loopbackEngines are a test browser's codecs (pion's defaults, with red
// Opus RED first; the audio level extension the server offers) and its
// settings (loopback candidates only, no mDNS).
func loopbackEngines(tb testing.TB, red bool) (*webrtc.MediaEngine, webrtc.SettingEngine) {
	tb.Helper()
	me := &webrtc.MediaEngine{}
	if red {
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: redCapability, PayloadType: redPayloadType}, webrtc.RTPCodecTypeAudio); err != nil {
			tb.Fatal(err)
		}
	}
	if err := me.RegisterDefaultCodecs(); err != nil {
		tb.Fatal(err)
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		tb.Fatal(err)
	}
	return me, loopbackSettings(false)
}

// loopbackSettings are a test browser's settings: loopback candidates
// only, no mDNS; noReplayProtection for peers that send a packet twice on
// purpose.
func loopbackSettings(noReplayProtection bool) webrtc.SettingEngine {
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.DisableSRTPReplayProtection(noReplayProtection)
	return se
}

// joinBrowser joins room as name; publish, if set, is added before the first answer.
func joinBrowser(t *testing.T, room *Room, name string, publish webrtc.TrackLocal) *browser {
	t.Helper()
	return joinBrowserWith(t, loopbackAPI(t), room, name, publish)
}

// joinBrowserWith is joinBrowser for a browser made with api.
func joinBrowserWith(t *testing.T, api *webrtc.API, room *Room, name string, publish webrtc.TrackLocal) *browser {
	t.Helper()
	b := newBrowser(t, api, publish, 8)
	b.join(room, name)
	go b.answerLoop()
	return b
}

// newBrowser makes a browser's PeerConnection with api, publishing publish
// if it is set; remote tracks queue on b.tracks (room for queue of them)
// until b closes. It joins nothing yet.
func newBrowser(t *testing.T, api *webrtc.API, publish webrtc.TrackLocal, queue int) *browser {
	t.Helper()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, pc: pc, sig: newFakeSignaller(), tracks: make(chan *webrtc.TrackRemote, queue), done: make(chan struct{})}
	if publish != nil {
		if _, err := pc.AddTrack(publish); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		select {
		case b.tracks <- tr:
		case <-b.done:
		}
	})
	return b
}

// join joins room as name; the browser closes when the test ends.
func (b *browser) join(room *Room, name string) {
	b.t.Helper()
	var err error
	if b.peer, err = room.Join(name, b.sig); err != nil {
		b.t.Fatalf("join %s: %v", name, err)
	}
	b.t.Cleanup(b.close)
}

// answerLoop answers every offer until the browser closes.
func (b *browser) answerLoop() {
	for {
		select {
		case <-b.done:
			return
		case sdp := <-b.sig.offers:
			if err := b.answer(sdp); err != nil {
				b.t.Logf("answer (ends the loop): %v", err)
				return
			}
		}
	}
}

func (b *browser) answer(sdp string) error { return answerOffer(b.pc, b.peer, sdp) }

// answerOffer answers the SFU's offer sdp from pc, as a browser does, and
// hands the answer to peer.
func answerOffer(pc *webrtc.PeerConnection, peer *Peer, sdp string) error {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return err
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return err
	}
	<-gathered
	return peer.Answer(pc.LocalDescription().SDP)
}

func (b *browser) close() {
	select {
	case <-b.done:
	default:
		close(b.done)
		_ = b.pc.Close()
	}
}

// waitTrack returns the first received track whose stream ID is streamID.
func (b *browser) waitTrack(streamID string) *webrtc.TrackRemote {
	b.t.Helper()
	deadline := time.After(testTimeout)
	for {
		select {
		case tr := <-b.tracks:
			if tr.StreamID() == streamID {
				return tr
			}
		case <-deadline:
			b.t.Fatalf("no track with stream ID %s", streamID)
		}
	}
}

// waitRoster waits for a roster for which ok is true.
func (b *browser) waitRoster(ok func(Roster) bool) Roster {
	b.t.Helper()
	deadline := time.After(testTimeout)
	for {
		select {
		case r := <-b.sig.rosters:
			if ok(r) {
				return r
			}
		case <-deadline:
			b.t.Fatal("roster never matched")
		}
	}
}

func hasID(id string) func(Roster) bool {
	return func(r Roster) bool {
		for _, p := range r.Participants {
			if p.ID == id {
				return true
			}
		}
		return false
	}
}

func not(f func(Roster) bool) func(Roster) bool { return func(r Roster) bool { return !f(r) } }

// pace calls write every 20 ms until stop is closed.
func pace(stop <-chan struct{}, write func()) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			write()
		}
	}
}

// readPackets reads n RTP packets from tr.
func readPackets(t *testing.T, tr *webrtc.TrackRemote, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, _, err := tr.ReadRTP(); err != nil {
			t.Fatalf("read rtp %d: %v", i, err)
		}
	}
}

type chanSink chan string

func (c chanSink) OnAudio(id string, _ *rtp.Packet) {
	select {
	case c <- id:
	default:
	}
}

var silence = []byte{0xf8, 0xff, 0xfe} // one 20 ms Opus silence frame

func TestRoomForwarding(t *testing.T) {
	base := runtime.NumGoroutine()
	m := testManager(t, Config{ICEIPs: []string{"127.0.0.1"}})
	room := m.Room("demo")
	if got := m.Room("demo"); got != room {
		t.Fatalf("Room(demo) twice: got a different room")
	}
	sink := make(chanSink, 16)
	removeSink := room.AddAudioSink(sink)

	micA, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "a-stream")
	if err != nil {
		t.Fatal(err)
	}
	a := joinBrowser(t, room, "Ann", micA)
	b := joinBrowser(t, room, "Bob", nil)
	b.waitRoster(hasID(a.peer.ID()))

	stop := make(chan struct{})
	go pace(stop, func() { _ = micA.WriteSample(media.Sample{Data: silence, Duration: 20 * time.Millisecond}) })
	readPackets(t, b.waitTrack(a.peer.ID()), 20)
	select {
	case id := <-sink:
		if id != a.peer.ID() {
			t.Errorf("audio sink: got participant %s, want %s", id, a.peer.ID())
		}
	case <-time.After(testTimeout):
		t.Error("audio sink got no packet")
	}
	removeSink()
	removeSink()
	close(stop)

	testPhone(t, room, b)

	a.peer.Leave()
	a.peer.Leave()
	b.waitRoster(not(hasID(a.peer.ID())))

	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := m.Room("demo").Join("late", newFakeSignaller()); err == nil {
		t.Error("join after close: got nil error, want one")
	}
	a.close()
	b.close()
	waitGoroutines(t, base)
}

func testPhone(t *testing.T, room *Room, b *browser) {
	t.Helper()
	ph, err := room.AddPhone(PhoneInfo{ID: "phone-1", Label: "+49 30 ••• 56"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := room.AddPhone(PhoneInfo{ID: "phone-1"}); err == nil {
		t.Error("second AddPhone with the same ID: got nil error, want one")
	}
	r := b.waitRoster(hasID("phone-1"))
	for _, p := range r.Participants {
		if p.ID == "phone-1" && (p.Kind != KindPhone || p.Name != "+49 30 ••• 56") {
			t.Errorf("phone entry: got %+v, want kind phone and the label", p)
		}
	}
	stop := make(chan struct{})
	go pace(stop, func() { _ = ph.WriteOpus(silence, 20*time.Millisecond) })
	readPackets(t, b.waitTrack("phone-1"), 20)
	close(stop)

	ph.SetSpeaking(true)
	ph.SetSpeaking(true)
	select {
	case got := <-b.sig.speaking:
		if got.ID != "phone-1" || !got.Speaking {
			t.Errorf("speaking: got %+v, want phone-1 speaking", got)
		}
	case <-time.After(testTimeout):
		t.Error("no speaking message")
	}
	if len(b.sig.speaking) != 0 {
		t.Errorf("speaking messages after a repeated SetSpeaking: got %d more, want 0", len(b.sig.speaking))
	}
	ph.Leave()
	ph.Leave()
	b.waitRoster(not(hasID("phone-1")))
	if err := ph.WriteOpus(silence, 20*time.Millisecond); err == nil {
		t.Error("WriteOpus after Leave: got nil error, want ErrClosed")
	}
}

// waitGoroutines fails unless the goroutine count settles back to base.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: got %d, want <= %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
