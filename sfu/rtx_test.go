package sfu

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// TestRTXWriter: new packets pass unchanged; a packet not newer than the
// newest sent goes out on the RTX SSRC with its own sequence numbers and
// the original sequence number before the payload.
func TestRTXWriter(t *testing.T) {
	var got []rtp.Packet
	next := interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
		got = append(got, rtp.Packet{Header: *h, Payload: append([]byte(nil), payload...)})
		return len(payload), nil
	})
	w := newRTXWriter(2222, 97, next)
	send := func(seq uint16) {
		h := rtp.Header{Version: 2, SSRC: 1111, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq) * 10}
		if _, err := w.Write(&h, []byte{byte(seq)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []uint16{65534, 65535, 0, 1, 65535, 1, 2, 0} {
		send(s)
	}
	type want struct {
		ssrc uint32
		pt   uint8
		osn  int // -1: not RTX
		seq  uint16
	}
	wants := []want{
		{1111, 96, -1, 65534}, {1111, 96, -1, 65535}, {1111, 96, -1, 0}, {1111, 96, -1, 1},
		{2222, 97, 65535, 0}, {2222, 97, 1, 1}, {1111, 96, -1, 2}, {2222, 97, 0, 2},
	}
	if len(got) != len(wants) {
		t.Fatalf("wrote %d packets, want %d", len(got), len(wants))
	}
	rtxBase := got[4].SequenceNumber
	for i, g := range got {
		wt := wants[i]
		if g.SSRC != wt.ssrc || g.PayloadType != wt.pt {
			t.Errorf("packet %d: ssrc %d pt %d, want %d %d", i, g.SSRC, g.PayloadType, wt.ssrc, wt.pt)
			continue
		}
		if wt.osn < 0 {
			if g.SequenceNumber != wt.seq || !bytes.Equal(g.Payload, []byte{byte(wt.seq)}) {
				t.Errorf("packet %d: seq %d payload %v, want %d unchanged", i, g.SequenceNumber, g.Payload, wt.seq)
			}
			continue
		}
		osn := uint16(wt.osn)
		wantPayload := []byte{byte(osn >> 8), byte(osn), byte(osn)}
		if g.SequenceNumber != rtxBase+wt.seq || !bytes.Equal(g.Payload, wantPayload) || g.Timestamp != uint32(osn)*10 {
			t.Errorf("packet %d: rtx seq %d payload %v ts %d, want seq %d payload %v ts %d", i,
				g.SequenceNumber, g.Payload, g.Timestamp, rtxBase+wt.seq, wantPayload, uint32(osn)*10)
		}
	}
}

// TestLateAndDuplicatePackets drives videoOut.receive: a late packet is
// forwarded once with the subscriber's numbering and does not move it on;
// its duplicate is not forwarded; a late keyframe does not start a switch;
// a late packet from before a switch is dropped.
func TestLateAndDuplicatePackets(t *testing.T) {
	out := newVideoOut(nil, "cam", webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}})
	ctx := &captureContext{}
	local, err := webrtc.NewTrackLocalStaticRTP(out.codec, "cam", "ann")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := local.Bind(ctx); err != nil {
		t.Fatal(err)
	}
	d := newDownTrack(out, &Peer{kicks: make(chan struct{}, 1)}, local)
	out.addDown(d)
	var layers [numLayers]*layerIn
	for i := range layers {
		layers[i], _ = out.addLayer(layerRIDs[i], uint32(100+i), nil)
	}
	now := time.Unix(1000, 0)
	recv := func(l int, seq uint16, key bool) {
		payload := vp8Frame(key, 640, 360, byte(l))
		payload = fmt.Appendf(payload, "L%d S%d", l, seq)
		out.receive(l, layers[l], &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true}, Payload: payload}, now)
		now = now.Add(33 * time.Millisecond)
	}
	d.setTarget(0)
	recv(0, 10, true)
	recv(0, 11, false)
	recv(0, 13, false)
	recv(0, 12, false) // late: forwarded with its own number
	recv(0, 12, false) // a second copy: not forwarded
	recv(0, 14, false)
	d.setTarget(1)
	recv(1, 500, false)
	recv(1, 502, true) // switch to layer 1 here
	recv(1, 503, false)
	recv(1, 501, true) // late, from before the switch: dropped
	recv(1, 504, false)
	d.setTarget(2)
	recv(2, 7000, false)
	recv(2, 7002, false)
	recv(2, 7001, true) // a late keyframe start: no switch
	recv(1, 505, false)
	got := ctx.markers()
	want := []string{"L0 S10@0", "L0 S11@1", "L0 S13@3", "L0 S12@2", "L0 S14@4",
		"L1 S502@5", "L1 S503@6", "L1 S504@7", "L1 S505@8"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("forwarded %v, want %v", got, want)
	}
	if cur, _ := d.layers(); cur != 1 {
		t.Errorf("current layer %d after a late keyframe of layer 2, want 1", cur)
	}
}

// captureContext is a webrtc.TrackLocalContext that records what a
// TrackLocalStaticRTP writes.
type captureContext struct {
	mu   sync.Mutex
	pkts []rtp.Packet
}

func (c *captureContext) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}}
}
func (c *captureContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }
func (c *captureContext) SSRC() webrtc.SSRC                                      { return 1 }
func (c *captureContext) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (c *captureContext) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (c *captureContext) WriteStream() webrtc.TrackLocalWriter                   { return c }
func (c *captureContext) ID() string                                             { return "capture" }
func (c *captureContext) RTCPReader() interceptor.RTCPReader                     { return nil }
func (c *captureContext) Write(b []byte) (int, error)                            { return len(b), nil }
func (c *captureContext) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pkts = append(c.pkts, rtp.Packet{Header: *h, Payload: append([]byte(nil), payload...)})
	return len(payload), nil
}

// markers lists each written packet as its payload marker and the offset
// of its sequence number from the first one's.
func (c *captureContext) markers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s []string
	for _, p := range c.pkts {
		i := bytes.LastIndexByte(p.Payload, 'L')
		s = append(s, fmt.Sprintf("%s@%d", p.Payload[i:], p.SequenceNumber-c.pkts[0].SequenceNumber))
	}
	return s
}

// rtxPublisher is a browser's camera for the RTX tests: an interceptor on
// the publishing PeerConnection that keeps what it sent, drops the media
// packet with sequence number drop on its way out, and answers the SFU's
// NACKs with RTX packets that, like Chrome's, name the layer with the rrid
// extension. It can also send malformed RTX packets.
type rtxPublisher struct {
	interceptor.NoOp
	drop    atomic.Int32 // media sequence number + 1 to drop once; 0 none
	rtxSent atomic.Int32 // RTX answers sent
	nacked  atomic.Int32 // NACKed numbers seen

	mu     sync.Mutex
	info   *interceptor.StreamInfo
	w      interceptor.RTPWriter
	sent   map[uint16]rtp.Packet
	rtxSeq uint16
	mid    string
	midID  uint8
	ridID  uint8
	rridID uint8
}

func (p *rtxPublisher) NewInterceptor(string) (interceptor.Interceptor, error) { return p, nil }

func (p *rtxPublisher) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	p.mu.Lock()
	p.info, p.w, p.sent = info, w, map[uint16]rtp.Packet{}
	for _, e := range info.RTPHeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			p.midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			p.ridID = uint8(e.ID)
		case sdp.SDESRepairRTPStreamIDURI:
			p.rridID = uint8(e.ID)
		}
	}
	p.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		p.mu.Lock()
		p.sent[h.SequenceNumber] = rtp.Packet{Header: h.Clone(), Payload: append([]byte(nil), payload...)}
		p.mu.Unlock()
		if d := p.drop.Load(); d != 0 && uint16(d-1) == h.SequenceNumber && p.drop.CompareAndSwap(d, 0) {
			return len(payload), nil // lost on the way
		}
		return w.Write(h, payload, a)
	})
}

func (p *rtxPublisher) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := r.Read(b, a)
		if err != nil {
			return n, a, err
		}
		pkts, err := rtcp.Unmarshal(b[:n])
		if err != nil {
			return n, a, nil
		}
		for _, pkt := range pkts {
			if nack, ok := pkt.(*rtcp.TransportLayerNack); ok {
				for _, pair := range nack.Nacks {
					for _, seq := range pair.PacketList() {
						p.nacked.Add(1)
						p.answer(seq)
					}
				}
			}
		}
		return n, a, nil
	})
}

// answer sends the packet with sequence number seq again as RTX.
func (p *rtxPublisher) answer(seq uint16) {
	p.mu.Lock()
	orig, ok := p.sent[seq]
	p.mu.Unlock()
	if !ok {
		return
	}
	payload := binary.BigEndian.AppendUint16(nil, seq)
	p.sendRTX(orig.Header, append(payload, orig.Payload...))
	p.rtxSent.Add(1)
}

// sendRTX writes an RTX packet with payload (OSN included, or not if the
// packet is to be malformed) and the header fields of orig.
func (p *rtxPublisher) sendRTX(orig rtp.Header, payload []byte) {
	p.mu.Lock()
	p.rtxSeq++
	h := rtp.Header{Version: 2, SSRC: p.info.SSRCRetransmission, PayloadType: p.info.PayloadTypeRetransmission,
		SequenceNumber: p.rtxSeq, Timestamp: orig.Timestamp, Marker: orig.Marker, Padding: orig.Padding}
	_ = h.SetExtension(p.midID, []byte(p.mid))
	_ = h.SetExtension(p.rridID, []byte("f"))
	w := p.w
	p.mu.Unlock()
	_, _ = w.Write(&h, payload, nil)
}

// rtxSetup is a room with one publisher (Ann, an rtxPublisher camera
// sending one packet every 20 ms: a VP8 frame, a keyframe every 30,
// followed by "packet N") and the SFU's Manager.
type rtxSetup struct {
	m     *Manager
	room  *Room
	ann   *browser
	cam   *webrtc.TrackLocalStaticRTP
	pub   *rtxPublisher
	first uint16 // sequence number of packet 0
	stop  func()
}

func newRTXSetup(t *testing.T) *rtxSetup {
	t.Helper()
	m := testManager(t, Config{ICEIPs: []string{"127.0.0.1"}})
	s := &rtxSetup{m: m, room: m.Room("rtx"), pub: &rtxPublisher{}, first: 40000}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil { // VP8 96 with rtx 97
		t.Fatal(err)
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	reg.Add(s.pub)
	var err error
	s.cam, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		"cam", "ann-cam", webrtc.WithRTPStreamID("f"))
	if err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(loopbackSettings(false)))
	s.ann = joinBrowserWith(t, api, s.room, "Ann", s.cam)
	for _, tr := range s.ann.pc.GetTransceivers() {
		if snd := tr.Sender(); snd != nil {
			go func() { // the interceptors see RTCP only while it is read
				for {
					if _, _, err := snd.ReadRTCP(); err != nil {
						return
					}
				}
			}()
		}
	}
	var mid string
	deadline := time.Now().Add(testTimeout)
	for {
		s.pub.mu.Lock()
		ready := s.pub.info != nil && s.pub.midID != 0 && s.pub.ridID != 0 && s.pub.rridID != 0
		s.pub.mu.Unlock()
		for _, tr := range s.ann.pc.GetTransceivers() {
			if snd := tr.Sender(); snd != nil && snd.Track() == s.cam {
				mid = tr.Mid()
			}
		}
		if ready && mid != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("publisher never negotiated mid, rid and rrid")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.pub.mu.Lock()
	s.pub.mid = mid
	info := *s.pub.info
	midID, ridID := s.pub.midID, s.pub.ridID
	s.pub.mu.Unlock()
	if info.SSRCRetransmission == 0 || info.PayloadTypeRetransmission != 97 {
		t.Fatalf("publisher's RTX: ssrc %d payload type %d, want an SSRC and 97", info.SSRCRetransmission, info.PayloadTypeRetransmission)
	}
	stop := make(chan struct{})
	var n atomic.Uint32
	go pace(stop, func() {
		i := n.Add(1) - 1
		payload := vp8Frame(i%30 == 0, 640, 360, 2)
		payload = fmt.Appendf(payload, "packet %d", i)
		h := rtp.Header{Version: 2, SequenceNumber: s.first + uint16(i), Timestamp: i * 3000, Marker: true}
		_ = h.SetExtension(midID, []byte(mid))
		_ = h.SetExtension(ridID, []byte("f"))
		_ = s.cam.WriteRTP(&rtp.Packet{Header: h, Payload: payload})
	})
	s.stop = sync.OnceFunc(func() { close(stop) })
	t.Cleanup(s.stop)
	return s
}

// joinSubscriber joins a subscriber without interceptors (it NACKs only
// when the test does); with rtx its answer accepts video/rtx.
func joinSubscriber(t *testing.T, room *Room, name string, rtx bool) *browser {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if rtx {
		if err := me.RegisterDefaultCodecs(); err != nil {
			t.Fatal(err)
		}
	} else {
		for _, c := range []struct {
			p webrtc.RTPCodecParameters
			k webrtc.RTPCodecType
		}{
			{webrtc.RTPCodecParameters{RTPCodecCapability: opusCapability, PayloadType: opusPayloadType}, webrtc.RTPCodecTypeAudio},
			{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
				RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}}, PayloadType: 96}, webrtc.RTPCodecTypeVideo},
		} {
			if err := me.RegisterCodec(c.p, c.k); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Without rtx the retransmission repeats a sequence number that arrived.
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(&interceptor.Registry{}),
		webrtc.WithSettingEngine(loopbackSettings(!rtx)))
	return joinBrowserWith(t, api, room, name, nil)
}

// rxPacket is one packet a subscriber read.
type rxPacket struct {
	pkt    *rtp.Packet
	marker int    // N of "packet N"; -1 if the payload has none
	rtx    uint32 // the RTX SSRC it came on, 0 if on the media SSRC
	osn    bool   // pion reported an RTX sequence number
}

func readMarked(t *testing.T, tr *webrtc.TrackRemote) rxPacket {
	t.Helper()
	pkt, attrs, err := tr.ReadRTP()
	if err != nil {
		t.Fatalf("read rtp: %v", err)
	}
	r := rxPacket{pkt: pkt, marker: -1}
	if i := bytes.LastIndex(pkt.Payload, []byte("packet ")); i >= 0 {
		if n, err := strconv.Atoi(string(pkt.Payload[i+7:])); err == nil {
			r.marker = n
		}
	}
	if v, ok := attrs.Get(webrtc.AttributeRtxSsrc).(uint32); ok {
		r.rtx = v
	}
	_, r.osn = attrs.Get(webrtc.AttributeRtxSequenceNumber).(uint16)
	return r
}

// TestRTXFromPublisher: the publisher loses one packet on the way, the SFU
// NACKs it, the publisher answers on its RTX SSRC; the subscriber gets every
// packet exactly once (the late one on its own RTX SSRC), and malformed or
// padding-only RTX packets from the publisher reach nobody.
func TestRTXFromPublisher(t *testing.T) {
	s := newRTXSetup(t)
	bob := joinSubscriber(t, s.room, "Bob", true)
	tr := bob.waitTrack(s.ann.peer.ID())
	count := map[int]int{}
	var viaRTX []int
	start, drop, end := -1, -1, -1
	deadline := time.Now().Add(testTimeout)
	for end < 0 || !(len(count) > 0 && maxKey(count) >= end) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out; received %v", count)
		}
		r := readMarked(t, tr)
		if r.marker < 0 {
			t.Fatalf("received a packet without a marker: seq %d payload %x", r.pkt.SequenceNumber, r.pkt.Payload)
		}
		if start < 0 {
			start, drop, end = r.marker, r.marker+10, r.marker+60
			s.pub.drop.Store(int32(s.first+uint16(drop)) + 1)
		}
		if r.marker == drop+20 {
			// Malformed: no OSN (1 byte), and a padding-only probe.
			s.pub.sendRTX(r.pkt.Header, []byte{0x42})
			s.pub.sendRTX(r.pkt.Header, nil)
			s.pub.sendPadding(r.pkt.Header)
			// A packet that arrived, again (Chrome probes with those).
			s.pub.answer(s.first + uint16(drop+5))
		}
		count[r.marker]++
		if r.rtx != 0 {
			viaRTX = append(viaRTX, r.marker)
		}
	}
	for n := start; n <= end; n++ {
		if count[n] != 1 {
			t.Errorf("packet %d received %d times, want once", n, count[n])
		}
	}
	if len(viaRTX) != 1 || viaRTX[0] != drop {
		t.Errorf("packets received on RTX: %v, want [%d]", viaRTX, drop)
	}
	if n := s.pub.rtxSent.Load(); n < 2 {
		t.Errorf("the publisher sent %d RTX answers, want the repair and the repeat", n)
	}
	if s.pub.drop.Load() != 0 {
		t.Error("the publisher never dropped the packet")
	}
	// pion hands the repaired packet past the NACK generator; without
	// rtxInterceptor's filter it asked again every 100 ms (10 times here).
	if n := s.pub.nacked.Load(); n < 1 || n > 4 {
		t.Errorf("the SFU NACKed %d numbers for one lost packet, want 1 (at most 4)", n)
	}
	t.Logf("the SFU NACKed %d numbers; the publisher answered %d on RTX", s.pub.nacked.Load(), s.pub.rtxSent.Load())
}

// FuzzRTXOSN: any RTP packet gives an OSN or none, never a panic.
func FuzzRTXOSN(f *testing.F) {
	f.Add([]byte{0x80, 97, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0x9c, 0x41, 0xaa})
	f.Add([]byte{0xa0, 97, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 3})
	f.Add([]byte{0x90, 97, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0xbe, 0xde, 0, 1, 0x10, 0x66, 0, 0, 0x9c})
	f.Fuzz(func(t *testing.T, b []byte) {
		var pkt rtp.Packet
		osn, ok := rtxOSN(b)
		if pkt.Unmarshal(b) != nil {
			return // pion drops it before any interceptor sees it
		}
		if ok != (len(pkt.Payload) >= 2) || ok && osn != binary.BigEndian.Uint16(pkt.Payload) {
			t.Fatalf("OSN %d, %v; payload %x", osn, ok, pkt.Payload)
		}
	})
}

// sendPadding writes a padding-only RTX packet (a bandwidth probe).
func (p *rtxPublisher) sendPadding(orig rtp.Header) {
	const size = 200
	payload := make([]byte, size)
	payload[size-1] = size // RFC 3550 section 5.1: the last byte counts the padding
	orig.Padding, orig.Marker = true, false
	p.sendRTX(orig, payload)
}

func maxKey(m map[int]int) int {
	best := -1
	for k := range m {
		best = max(best, k)
	}
	return best
}

// TestNACKAnsweredOnRTX: a subscriber that accepted rtx NACKs a packet; it
// comes again on the RTX SSRC of the SFU's offer with the original
// sequence number and payload, and the media SSRC's numbering has no gap
// or repeat.
func TestNACKAnsweredOnRTX(t *testing.T) {
	s := newRTXSetup(t)
	bob := joinSubscriber(t, s.room, "Bob", true)
	tr := bob.waitTrack(s.ann.peer.ID())
	fid := fidGroup(t, bob.pc.RemoteDescription().SDP, uint32(tr.SSRC()))
	var lost *rtp.Packet
	var last uint16
	media, nacks := 0, 0
	deadline := time.Now().Add(testTimeout)
	for time.Now().Before(deadline) {
		r := readMarked(t, tr)
		if r.rtx == 0 {
			if media > 0 && r.pkt.SequenceNumber != last+1 {
				t.Fatalf("media sequence %d after %d", r.pkt.SequenceNumber, last)
			}
			last = r.pkt.SequenceNumber
			media++
		}
		switch {
		case lost == nil:
			lost = r.pkt
		case r.rtx != 0:
			if r.pkt.SequenceNumber != lost.SequenceNumber || !bytes.Equal(r.pkt.Payload, lost.Payload) || !r.osn {
				t.Fatalf("RTX packet: seq %d payload %q, want %d %q", r.pkt.SequenceNumber, r.pkt.Payload, lost.SequenceNumber, lost.Payload)
			}
			if r.rtx != fid {
				t.Fatalf("retransmission on SSRC %d, want the offer's RTX SSRC %d", r.rtx, fid)
			}
			if media < 20 {
				continue // check the media numbering a while longer
			}
			return
		case r.pkt.SequenceNumber-lost.SequenceNumber > 3 && nacks < 20 && r.pkt.SequenceNumber-lost.SequenceNumber < 100:
			nacks++
			if err := bob.pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: uint32(tr.SSRC()),
				Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{lost.SequenceNumber})}}); err != nil {
				t.Fatalf("send nack: %v", err)
			}
		}
	}
	t.Fatalf("packet %d never retransmitted on RTX (%d NACKs sent)", lost.SequenceNumber, nacks)
}

// fidGroup returns the RTX SSRC that sdp pairs with media SSRC ssrc.
func fidGroup(t *testing.T, desc string, ssrc uint32) uint32 {
	t.Helper()
	prefix := fmt.Sprintf("a=ssrc-group:FID %d ", ssrc)
	for _, l := range strings.Split(desc, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), prefix); ok {
			v, err := strconv.ParseUint(rest, 10, 32)
			if err != nil {
				t.Fatalf("bad FID group %q", l)
			}
			return uint32(v)
		}
	}
	t.Fatalf("offer has no FID group for SSRC %d", ssrc)
	return 0
}

// TestNACKWithoutRTX: a subscriber whose answer has no rtx gets the
// retransmission on the media SSRC with the same sequence number.
func TestNACKWithoutRTX(t *testing.T) {
	s := newRTXSetup(t)
	bob := joinSubscriber(t, s.room, "Bob", false)
	tr := bob.waitTrack(s.ann.peer.ID())
	if strings.Contains(bob.pc.LocalDescription().SDP, "rtx") {
		t.Fatal("the subscriber's answer accepts rtx")
	}
	var lost *rtp.Packet
	nacks := 0
	deadline := time.Now().Add(testTimeout)
	for time.Now().Before(deadline) {
		r := readMarked(t, tr)
		switch {
		case r.rtx != 0:
			t.Fatalf("packet %d came on RTX SSRC %d", r.pkt.SequenceNumber, r.rtx)
		case lost == nil:
			lost = r.pkt
		case r.pkt.SequenceNumber == lost.SequenceNumber:
			if !bytes.Equal(r.pkt.Payload, lost.Payload) || r.pkt.SSRC != uint32(tr.SSRC()) {
				t.Fatalf("retransmission: ssrc %d payload %q, want %d %q", r.pkt.SSRC, r.pkt.Payload, tr.SSRC(), lost.Payload)
			}
			return
		case r.pkt.SequenceNumber-lost.SequenceNumber > 3 && nacks < 20:
			nacks++
			if err := bob.pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: uint32(tr.SSRC()),
				Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{lost.SequenceNumber})}}); err != nil {
				t.Fatalf("send nack: %v", err)
			}
		}
	}
	t.Fatalf("packet %d never retransmitted (%d NACKs sent)", lost.SequenceNumber, nacks)
}

// BenchmarkRTXWriter is what an outgoing video packet costs the RTX
// writer when it is not a retransmission (the common case).
func BenchmarkRTXWriter(b *testing.B) {
	next := interceptor.RTPWriterFunc(func(_ *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
		return len(payload), nil
	})
	w := newRTXWriter(2, 97, next)
	h := rtp.Header{Version: 2, SSRC: 1, PayloadType: 96}
	payload := make([]byte, 1100)
	b.ReportAllocs()
	for n := range b.N {
		h.SequenceNumber = uint16(n)
		_, _ = w.Write(&h, payload, nil)
	}
}
