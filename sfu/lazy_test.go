package sfu

import (
	"fmt"
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

// videoSections returns the stream IDs of the video sections the server
// sends on in b's current remote description (its offer), and how many
// video sections that offer has in all.
func videoSections(t *testing.T, b *browser) (streams []string, total int) {
	t.Helper()
	desc := b.pc.RemoteDescription()
	if desc == nil {
		return nil, 0
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(desc.SDP); err != nil {
		t.Fatalf("parse offer: %v", err)
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "video" {
			continue
		}
		total++
		if _, send := md.Attribute("sendonly"); !send {
			continue
		}
		if msid, ok := md.Attribute("msid"); ok {
			streams = append(streams, strings.Fields(msid)[0])
		}
	}
	return streams, total
}

// received counts, per publishing participant, the video packets a
// subscriber received, and checks that each carries that publisher's mark.
type received struct {
	mu     sync.Mutex
	counts map[string]*atomic.Int64
	marks  *sync.Map    // publisher ID -> the mark (byte) its frames carry
	wrong  atomic.Int64 // packets on one publisher's track with another's mark
}

// receive reads every track b receives until b closes.
func receive(b *browser, marks *sync.Map) *received {
	rc := &received{counts: map[string]*atomic.Int64{}, marks: marks}
	go func() {
		for {
			var tr *webrtc.TrackRemote
			select {
			case tr = <-b.tracks:
			case <-b.done:
				return
			}
			if tr.Kind() != webrtc.RTPCodecTypeVideo {
				continue
			}
			n := rc.counter(tr.StreamID())
			v, known := marks.Load(tr.StreamID())
			mark, _ := v.(byte)
			go func() {
				for {
					pkt, _, err := tr.ReadRTP()
					if err != nil {
						return
					}
					if len(pkt.Payload) == 0 {
						continue // padding
					}
					if !known || pkt.Payload[len(pkt.Payload)-1] != mark {
						rc.wrong.Add(1)
						continue
					}
					n.Add(1)
				}
			}()
		}
	}()
	return rc
}

func (rc *received) counter(id string) *atomic.Int64 {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := rc.counts[id]
	if n == nil {
		n = &atomic.Int64{}
		rc.counts[id] = n
	}
	return n
}

// waitMore waits until more than after packets of id's video arrived.
func (rc *received) waitMore(t *testing.T, id string, after int64) {
	t.Helper()
	n := rc.counter(id)
	if !waitFor(func() bool { return n.Load() > after }) {
		t.Fatalf("no video of %s arrived (%d packets so far)", id, n.Load())
	}
}

// drainLayers discards the layers messages sig holds.
func drainLayers(sig *fakeSignaller) {
	for {
		select {
		case <-sig.layers:
		default:
			return
		}
	}
}

// joinCamera joins room as a browser that publishes one VP8 camera
// (without simulcast). A publisher that views nothing sends an empty view
// at once, so it subscribes to no camera.
func joinCamera(t *testing.T, room *Room, name string, viewsNothing bool) (*browser, *webrtc.TrackLocalStaticRTP) {
	t.Helper()
	cam, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		"cam", name+"-cam", webrtc.WithRTPStreamID("f"))
	if err != nil {
		t.Fatal(err)
	}
	b := joinWatcher(t, room, name, cam, viewsNothing)
	return b, cam
}

// camera is a publisher's track with the header extensions it must set,
// like a browser, to name its media section and layer.
type camera struct {
	track        *webrtc.TrackLocalStaticRTP
	midID, ridID uint8
	mid          string
}

// negotiated waits until b has negotiated the mid and RID extensions for cam.
func negotiated(t *testing.T, b *browser, cam *webrtc.TrackLocalStaticRTP) camera {
	t.Helper()
	c := camera{track: cam}
	if !waitFor(func() bool {
		for _, tr := range b.pc.GetTransceivers() {
			if s := tr.Sender(); s != nil && s.Track() == cam {
				c.mid = tr.Mid()
				for _, e := range s.GetParameters().HeaderExtensions {
					switch e.URI {
					case sdp.SDESMidURI:
						c.midID = uint8(e.ID)
					case sdp.SDESRTPStreamIDURI:
						c.ridID = uint8(e.ID)
					}
				}
			}
		}
		return c.midID != 0 && c.ridID != 0 && c.mid != ""
	}) {
		t.Fatal("publisher never negotiated the mid and RID extensions")
	}
	return c
}

// write sends one frame of the camera.
func (c camera) write(n int, key bool, mark byte) {
	h := rtp.Header{Version: 2, Marker: true, SequenceNumber: uint16(n), Timestamp: uint32(n * 9000)}
	_ = h.SetExtension(c.midID, []byte(c.mid))
	_ = h.SetExtension(c.ridID, []byte("f"))
	_ = c.track.WriteRTP(&rtp.Packet{Header: h, Payload: vp8Frame(key, 640, 360, mark)})
}

// joinWatcher joins room as name, publishing publish if it is set; with
// viewsNothing it sends an empty view before it answers.
func joinWatcher(t *testing.T, room *Room, name string, publish webrtc.TrackLocal, viewsNothing bool) *browser {
	t.Helper()
	b := newBrowser(t, loopbackAPI(t), publish, 64)
	b.join(room, name)
	if viewsNothing {
		b.peer.SetView(nil)
	}
	go b.answerLoop()
	return b
}

// quiet reports whether no offer of p is scheduled or unanswered.
func (p *Peer) quiet() bool {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	return !p.negotiating && !p.pending && !p.scheduled
}

// tiles lists ids as 320x180 tiles.
func tiles(ids ...string) []TileView {
	v := make([]TileView, len(ids))
	for i, id := range ids {
		v[i] = TileView{ID: id, Width: 320, Height: 180}
	}
	return v
}

// TestLazyVideo: in a room of 30 cameras a subscriber gets a video section
// only for the cameras its view lists (one without a view: the first 25
// in join order); a camera that joins in nobody's view renegotiates
// nobody, and once one subscriber views it only that one renegotiates and
// receives it; paging away and back adds no second section; when a
// camera leaves, the subscriber without a view gets the next one.
func TestLazyVideo(t *testing.T) {
	const pubs = 30
	m := testManager(t, Config{ICEIPs: []string{"127.0.0.1"}, AudioLastN: 3})
	room := m.Room("lazy")

	// The publishers: 10 frames a second each, a keyframe every 5th; the
	// frame's last byte is the publisher's index.
	var camMu sync.Mutex
	var cams []camera
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			camMu.Lock()
			list := append([]camera(nil), cams...)
			camMu.Unlock()
			for i, c := range list {
				c.write(n, n%5 == 0, byte(i))
			}
		}
	}()
	var marks sync.Map
	markOf := func(id string) byte { v, _ := marks.Load(id); return v.(byte) }
	var ids []string
	var publishers []*browser
	addCamera := func(i int) *browser {
		b, cam := joinCamera(t, room, fmt.Sprintf("cam%d", i), true)
		marks.Store(b.peer.ID(), byte(i))
		ids = append(ids, b.peer.ID())
		publishers = append(publishers, b)
		c := negotiated(t, b, cam)
		camMu.Lock()
		cams = append(cams, c)
		camMu.Unlock()
		return b
	}
	for i := range pubs {
		addCamera(i)
	}
	published := func(n int) func() bool {
		return func() bool {
			room.mu.Lock()
			defer room.mu.Unlock()
			video := 0
			for _, o := range room.outs {
				if o.video != nil {
					video++
				}
			}
			return video == n
		}
	}
	if !waitFor(published(pubs)) {
		t.Fatalf("the %d cameras were never all published", pubs)
	}

	// A viewer of five, whose view comes right after its join.
	viewer := joinWatcher(t, room, "viewer", nil, false)
	view := ids[:5]
	viewer.peer.SetView(tiles(view...))
	got := receive(viewer, &marks)
	// A subscriber that never sends a view.
	blind := joinWatcher(t, room, "blind", nil, false)
	blindGot := receive(blind, &marks)

	for _, id := range view {
		got.waitMore(t, id, 0)
	}
	streams, total := videoSections(t, viewer)
	if len(streams) != 5 || total != 6 {
		t.Fatalf("viewer of 5: %d video sections sent on (%v), %d in all; want 5 and 6 (with its own camera section)", len(streams), streams, total)
	}
	for _, s := range streams {
		if markOf(s) >= 5 {
			t.Errorf("viewer has a section for %s, which it never viewed", s)
		}
	}

	// Without a view: the first 25 cameras, after the grace.
	if !waitFor(func() bool { s, _ := videoSections(t, blind); return len(s) >= maxDefaultVideo }) {
		s, _ := videoSections(t, blind)
		t.Fatalf("subscriber without a view got %d video sections, want %d", len(s), maxDefaultVideo)
	}
	streams, total = videoSections(t, blind)
	if len(streams) != maxDefaultVideo || total != maxDefaultVideo+1 {
		t.Fatalf("subscriber without a view: %d sections sent on, %d video sections; want %d and %d", len(streams), total, maxDefaultVideo, maxDefaultVideo+1)
	}
	for _, s := range streams {
		if markOf(s) >= maxDefaultVideo {
			t.Errorf("subscriber without a view got camera %d, not one of the first %d", markOf(s), maxDefaultVideo)
		}
	}
	blindGot.waitMore(t, ids[maxDefaultVideo-1], 0)

	// Everyone settled: no offer outstanding anywhere.
	all := append([]*browser{viewer, blind}, publishers...)
	if !waitFor(func() bool {
		for _, b := range all {
			if !b.peer.quiet() {
				return false
			}
		}
		return true
	}) {
		t.Fatal("offers never settled")
	}
	offered := make([]int64, len(all))
	for i, b := range all {
		offered[i] = b.sig.offered.Load()
	}

	// A 31st camera in nobody's view renegotiates nobody.
	late := addCamera(pubs)
	if !waitFor(published(pubs + 1)) {
		t.Fatal("the 31st camera was never published")
	}
	lateID := late.peer.ID()
	if !waitFor(func() bool { return late.peer.quiet() && late.sig.offered.Load() > 0 }) {
		t.Fatal("the 31st camera's offer was never answered")
	}

	// The viewer adds it: one renegotiation, of the viewer only, and its
	// video arrives.
	view = append(append([]string(nil), ids[:5]...), lateID)
	viewer.peer.SetView(tiles(view...))
	got.waitMore(t, lateID, 0)
	if !waitFor(func() bool { return viewer.peer.quiet() }) {
		t.Fatal("viewer's offer never answered")
	}
	if n := viewer.sig.offered.Load() - offered[0]; n != 1 {
		t.Errorf("viewer got %d offers for one new tile, want 1", n)
	}
	for i, b := range all[1:] {
		if n := b.sig.offered.Load() - offered[i+1]; n != 0 {
			t.Errorf("%s got %d offers for a camera it does not view", b.peer.ID(), n)
		}
	}
	var lateOut *videoOut
	room.mu.Lock()
	for _, o := range room.outs {
		if o.owner == lateID && o.video != nil {
			lateOut = o.video
		}
	}
	room.mu.Unlock()
	if n := len(*lateOut.downs.Load()); n != 1 {
		t.Errorf("the 31st camera has %d subscribers, want 1", n)
	}
	streams, total = videoSections(t, viewer)
	if len(streams) != 6 || total != 7 {
		t.Fatalf("viewer of 6: %d video sections sent on, %d in all; want 6 and 7", len(streams), total)
	}

	// Paging away adds the new page's sections; paging back adds none and
	// the first page's video resumes.
	page2 := ids[10:15]
	drainLayers(viewer.sig)
	viewer.peer.SetView(tiles(page2...))
	for _, id := range page2 {
		got.waitMore(t, id, 0)
	}
	if !waitFor(func() bool { return viewer.peer.quiet() }) {
		t.Fatal("viewer's offer never answered")
	}
	streams, _ = videoSections(t, viewer)
	if len(streams) != 11 {
		t.Fatalf("after paging: %d video sections sent on, want 11", len(streams))
	}
	before := viewer.sig.offered.Load()
	waitLayerInfo(t, viewer.sig, ids[0], "") // page 1 paused
	drainLayers(viewer.sig)
	viewer.peer.SetView(tiles(view...))
	waitLayerInfo(t, viewer.sig, ids[0], "f")
	got.waitMore(t, ids[0], got.counter(ids[0]).Load())
	got.waitMore(t, lateID, got.counter(lateID).Load())
	if n := viewer.sig.offered.Load() - before; n != 0 {
		t.Errorf("paging back made %d offers, want 0", n)
	}
	streams, total = videoSections(t, viewer)
	if len(streams) != 11 || total != 12 {
		t.Errorf("after paging back: %d video sections sent on, %d in all; want 11 and 12", len(streams), total)
	}
	// A default camera leaves: the subscriber without a view gets the next
	// one in join order.
	publishers[0].peer.Leave()
	if !waitFor(func() bool {
		s, _ := videoSections(t, blind)
		return len(s) == maxDefaultVideo && slices.Contains(s, ids[maxDefaultVideo]) && !slices.Contains(s, ids[0])
	}) {
		s, _ := videoSections(t, blind)
		t.Fatalf("after camera 0 left, the subscriber without a view has sections for %d cameras, camera %d among them: %v; want %d with it",
			len(s), maxDefaultVideo, slices.Contains(s, ids[maxDefaultVideo]), maxDefaultVideo)
	}
	blindGot.waitMore(t, ids[maxDefaultVideo], 0)
	if n := got.wrong.Load() + blindGot.wrong.Load(); n > 0 {
		t.Errorf("%d packets arrived on another publisher's track", n)
	}
}

// TestLazyScreenShare: a screen share reaches a subscriber whose view does
// not list the sharer, and one that has sent no view.
func TestLazyScreenShare(t *testing.T) {
	m := testManager(t, Config{ICEIPs: []string{"127.0.0.1"}, AudioLastN: 3})
	room := m.Room("share")
	var marks sync.Map
	var cams []camera
	var pubs []*browser
	for i := range 2 {
		b, cam := joinCamera(t, room, fmt.Sprintf("cam%d", i), true)
		marks.Store(b.peer.ID(), byte(i))
		cams = append(cams, negotiated(t, b, cam))
		pubs = append(pubs, b)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for i, c := range cams {
				c.write(n, n%5 == 0, byte(i))
			}
		}
	}()
	viewer := joinWatcher(t, room, "viewer", nil, false)
	viewer.peer.SetView(tiles(pubs[0].peer.ID()))
	got := receive(viewer, &marks)
	got.waitMore(t, pubs[0].peer.ID(), 0)
	if s, _ := videoSections(t, viewer); len(s) != 1 {
		t.Fatalf("viewer of one: %d video sections sent on, want 1", len(s))
	}

	sharer := pubs[1].peer.ID()
	pubs[1].peer.SetSharing(true)
	// The client shows the share as the main tile and lists it; until
	// then the server sends it anyway, so the viewer's view can list it.
	if !waitFor(func() bool { s, _ := videoSections(t, viewer); return len(s) == 2 }) {
		t.Fatal("the screen share never got a section at a viewer that did not list it")
	}
	viewer.peer.SetView(tiles(sharer, pubs[0].peer.ID()))
	got.waitMore(t, sharer, 0)
	if s, _ := videoSections(t, pubs[0]); len(s) != 1 || s[0] != sharer {
		t.Errorf("a publisher that views nothing has sections for %v, want only the share", s)
	}
}
