package sfu

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Simulcast layers. Browsers publish camera video as three encodings named
// by RID (RFC 8851): q (a quarter of the size), h (half) and f (full). A
// publisher without simulcast sends one encoding, which counts as f.
const (
	layerOff  = -1 // the subscriber receives nothing of this track
	numLayers = 3
)

// layerRIDs are the RIDs of the layers, smallest first; the client uses the same.
var layerRIDs = [numLayers]string{"q", "h", "f"}

// nominalRate is a layer's bitrate in bit/s until it has been measured; the
// client caps the encodings at about these.
var nominalRate = [numLayers]int{150_000, 500_000, 1_500_000}

// layerLive is how recently a layer must have sent a packet to count as sent.
const layerLive = time.Second

// A layer the SFU asks for that does not arrive within layerStart (a
// browser whose uplink or CPU cannot carry it stops sending it on its own)
// is left alone for layerRetry; without this, subscribers would flip
// between asking for it and pausing it.
const (
	layerStart = 3 * time.Second
	layerRetry = 10 * time.Second
)

// layerIndex maps a RID to a layer; "" (no simulcast) and unknown RIDs are f.
func layerIndex(rid string) int {
	switch rid {
	case "q", "0", "l":
		return 0
	case "h", "1", "m":
		return 1
	}
	return 2
}

// videoOut is one published video track with up to numLayers inbound
// encodings. Each subscriber gets its own downTrack, which forwards one layer.
type videoOut struct {
	owner *Peer
	id    string
	codec webrtc.RTPCodecCapability
	mime  string
	clock uint32 // RTP clock rate, Hz

	// demandMu makes updateDemand one at a time: two subscribers'
	// allocators computing it at once could otherwise store, or tell the
	// publisher, the older of two results last.
	demandMu sync.Mutex

	mu        sync.Mutex
	layers    [numLayers]*layerIn
	expected  [numLayers]bool              // RIDs the publisher negotiated, sent yet or not
	askedAt   [numLayers]time.Time         // when a wanted layer that is not arriving was first seen missing
	failed    [numLayers]time.Time         // until then a layer that did not start when asked counts as absent
	simulcast bool                         // the publisher sends RIDs
	demand    [numLayers]bool              // layers some subscriber wants; the publisher sends only these
	told      bool                         // demand has been sent at least once
	downs     atomic.Pointer[[]*downTrack] // copy on write; read per packet
}

// layerIn is one inbound encoding of a videoOut.
type layerIn struct {
	ssrc     uint32
	keyframe func() // rate-limited PLI to the publisher for this encoding
	lastAt   atomic.Int64
	bytes    atomic.Uint64
	cache    packetCache  // for retransmissions to subscribers
	started  bool         // highest is set; the layer's reader goroutine only
	highest  uint16       // the newest sequence number received
	width    atomic.Int32 // from the latest VP8 keyframe; 0 if unknown
	height   atomic.Int32

	// Guarded by videoOut.mu: the measured rate.
	rateBytes uint64
	rateAt    time.Time
	bps       int
}

func newVideoOut(owner *Peer, id string, codec webrtc.RTPCodecParameters) *videoOut {
	o := &videoOut{owner: owner, id: id, codec: codec.RTPCodecCapability,
		mime: codec.MimeType, clock: codec.ClockRate}
	if o.clock == 0 {
		o.clock = 90000
	}
	o.downs.Store(&[]*downTrack{})
	return o
}

// addLayer registers the encoding with this RID; it returns nil if the
// layer is already being read.
func (o *videoOut) addLayer(rid string, ssrc uint32, keyframe func()) (*layerIn, int) {
	i := layerIndex(rid)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.layers[i] != nil {
		return nil, i
	}
	if rid != "" {
		o.simulcast = true
	}
	l := &layerIn{ssrc: ssrc, keyframe: keyframe}
	l.cache.size = cacheSizes[i]
	o.layers[i] = l
	return l, i
}

// expect records that the publisher negotiated this RID: the layer can be
// asked for (and resumed) before its first packet arrives.
func (o *videoOut) expect(rid string) {
	if rid == "" {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.expected[layerIndex(rid)] = true
	o.simulcast = true
}

// receive hands one inbound packet of layer i to every subscriber. It runs
// on the layer's reader goroutine and never blocks. A packet received
// before (the publisher retransmitted one that was only late) goes no
// further. A late packet (older than the newest: a retransmission, or
// reordered on the way) is forwarded to the subscribers that receive the
// layer, but never starts a layer switch: the packets between it and the
// newest were not forwarded to a subscriber that was waiting to switch.
func (o *videoOut) receive(i int, l *layerIn, pkt *rtp.Packet, now time.Time) {
	l.lastAt.Store(now.UnixNano())
	l.bytes.Add(uint64(len(pkt.Payload) + 12))
	late := l.started && isLate(pkt.SequenceNumber, l.highest)
	if !l.cache.add(&pkt.Header, pkt.Payload, late) {
		return
	}
	if !late {
		l.started, l.highest = true, pkt.SequenceNumber
	}
	info := parseFrame(o.mime, pkt.Payload)
	if info.width > 0 && !late {
		l.width.Store(int32(info.width))
		l.height.Store(int32(info.height))
	}
	key := info.keyframe && !late
	for _, d := range *o.downs.Load() {
		d.forward(i, pkt, key, now)
	}
}

// lateWindow is how far (in sequence numbers) behind the newest a packet
// counts as late. A packet further back is a discontinuity in the
// publisher's numbering, taken as the new newest: the caches hold at most
// the last cacheSizes packets, and a retransmission is never older.
const lateWindow = 4096

// isLate reports whether sequence number seq is older than newest by at
// most lateWindow; seq == newest is not late.
func isLate(seq, newest uint16) bool {
	back := newest - seq
	return back != 0 && back <= lateWindow
}

// addDown and removeDown change the subscriber list.
func (o *videoOut) addDown(d *downTrack) {
	o.mu.Lock()
	defer o.mu.Unlock()
	next := append(slices.Clone(*o.downs.Load()), d)
	o.downs.Store(&next)
}

func (o *videoOut) removeDown(d *downTrack) {
	o.mu.Lock()
	defer o.mu.Unlock()
	next := slices.DeleteFunc(slices.Clone(*o.downs.Load()), func(x *downTrack) bool { return x == d })
	o.downs.Store(&next)
}

// layerState is what the allocator knows about one layer.
type layerState struct {
	present bool // the publisher negotiated or sent this layer (and it did not fail to start)
	live    bool // it sent a packet within layerLive
	paused  bool // the SFU asked the publisher not to send it
	w, h    int  // picture size; nominal until a keyframe tells
	bps     int  // measured bitrate, or nominal
}

// state returns the layers' state and updates the measured rates.
func (o *videoOut) state(now time.Time) [numLayers]layerState {
	o.mu.Lock()
	defer o.mu.Unlock()
	var st [numLayers]layerState
	fullW, fullH := 1280, 720
	if l := o.layers[2]; l != nil && l.width.Load() > 0 {
		fullW, fullH = int(l.width.Load()), int(l.height.Load())
	}
	for i, l := range o.layers {
		div := 1 << (numLayers - 1 - i)
		s := layerState{w: fullW / div, h: fullH / div, bps: nominalRate[i]}
		if l == nil && o.expected[i] {
			// Negotiated but never sent: the SFU may have paused it
			// before its first packet.
			s.present = true
			s.paused = o.told && !o.demand[i]
		}
		if l != nil {
			s.present = true
			s.live = now.UnixNano()-l.lastAt.Load() < int64(layerLive)
			s.paused = o.simulcast && o.told && !o.demand[i]
			if w := l.width.Load(); w > 0 {
				s.w, s.h = int(w), int(l.height.Load())
			}
			if dt := now.Sub(l.rateAt); l.rateAt.IsZero() || dt >= 500*time.Millisecond {
				b := l.bytes.Load()
				if !l.rateAt.IsZero() {
					bps := int(float64(b-l.rateBytes) * 8 / dt.Seconds())
					if l.bps == 0 {
						l.bps = bps
					} else {
						l.bps = (l.bps*3 + bps) / 4
					}
				}
				l.rateBytes, l.rateAt = b, now
			}
			if l.bps > 0 && s.live {
				s.bps = l.bps
			}
		}
		o.checkStartLocked(i, &s, now)
		st[i] = s
	}
	return st
}

// checkStartLocked marks layer i absent while it failed to start when asked.
func (o *videoOut) checkStartLocked(i int, s *layerState, now time.Time) {
	switch {
	case s.live || !o.told || !o.demand[i]:
		o.askedAt[i] = time.Time{}
	case o.askedAt[i].IsZero():
		o.askedAt[i] = now
	case now.Sub(o.askedAt[i]) > layerStart:
		o.failed[i] = now.Add(layerRetry)
		o.askedAt[i] = time.Time{}
	}
	if !s.live && now.Before(o.failed[i]) {
		s.present = false
	}
}

// keyframe asks the publisher for a keyframe of layer i (rate-limited).
// A layer that is not arriving is not asked: it cannot answer, and an
// encoder that (re)starts a layer starts it with a keyframe anyway, so
// repeated requests would only make the other layers' keyframes (the
// costliest frames) come more often.
func (o *videoOut) keyframe(i int) {
	if i < 0 || i >= numLayers {
		return
	}
	o.mu.Lock()
	l := o.layers[i]
	o.mu.Unlock()
	if l == nil || l.keyframe == nil || time.Now().UnixNano()-l.lastAt.Load() >= int64(layerLive) {
		return
	}
	l.keyframe()
}

// updateDemand recomputes which layers any subscriber receives, switches
// to or waits for and, when that changed, tells the publisher to send only those.
func (o *videoOut) updateDemand() {
	o.demandMu.Lock()
	defer o.demandMu.Unlock()
	var want [numLayers]bool
	for _, d := range *o.downs.Load() {
		cur, tgt := d.layers()
		for _, l := range []int{cur, tgt, d.waiting()} {
			if l >= 0 {
				want[l] = true
			}
		}
	}
	o.mu.Lock()
	changed := o.simulcast && (!o.told || want != o.demand)
	if changed {
		o.demand, o.told = want, true
	}
	o.mu.Unlock()
	if !changed {
		return
	}
	var rids []string
	for i, on := range want {
		if on {
			rids = append(rids, layerRIDs[i])
		}
	}
	if ms, ok := o.owner.sig.(MediaSignaller); ok {
		ms.Publish(PublishInfo{Layers: rids})
	}
}

// downTrack forwards one layer of a videoOut to one subscriber, rewriting
// sequence numbers and timestamps so that the subscriber sees one
// continuous stream across layer switches. pion's TrackLocalStaticRTP sets
// the subscriber's SSRC and payload type.
type downTrack struct {
	out   *videoOut
	sub   *Peer
	local *webrtc.TrackLocalStaticRTP

	// wmu keeps the packets of two layers in the order rewrite numbered
	// them: at a switch, the old layer's last packet and the new layer's
	// keyframe are forwarded by two reader goroutines at once, and one
	// written out of order would go out as a retransmission (rtx.go).
	wmu sync.Mutex

	mu      sync.Mutex
	current int // the layer being forwarded, or layerOff
	target  int // the layer to switch to at its next keyframe, or layerOff
	waitFor int // a layer above target kept resumed until it is sent (allocate.go), or layerOff
	started bool
	seqOff  uint16
	tsOff   uint32
	lastSeq uint16
	lastTS  uint32
	lastAt  time.Time
	segs    [maxSegments]seqSegment // the latest switches, newest first (cache.go)
	nsegs   int

	demandCur int // current layer when the demand was last computed; allocator goroutine only
}

func newDownTrack(out *videoOut, sub *Peer, local *webrtc.TrackLocalStaticRTP) *downTrack {
	return &downTrack{out: out, sub: sub, local: local, current: layerOff, target: layerOff, waitFor: layerOff, demandCur: layerOff}
}

// layers returns the current and target layer.
func (d *downTrack) layers() (current, target int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.current, d.target
}

// setTarget chooses the layer to forward. Pausing takes effect at once; any
// other change waits for a keyframe of the new layer, and the old layer is
// forwarded meanwhile. It reports whether a keyframe is needed.
func (d *downTrack) setTarget(l int) (needKeyframe bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.target = l
	if l == layerOff {
		d.current = layerOff
	}
	return d.target != d.current
}

// rewrite decides whether a packet of layer l goes to the subscriber and
// returns its header with the subscriber's sequence number and timestamp.
// key says the packet starts a keyframe. It is the forwarding logic without
// I/O, so tests drive it packet by packet.
func (d *downTrack) rewrite(l int, h *rtp.Header, key bool, now time.Time) (out rtp.Header, ok, switched bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if l == d.target && l != d.current && key {
		if d.started {
			gap := uint32(now.Sub(d.lastAt).Seconds()*float64(d.out.clock)) + 1
			d.seqOff = d.lastSeq + 1 - h.SequenceNumber
			d.tsOff = d.lastTS + gap - h.Timestamp
		}
		d.current, d.started, switched = l, true, true
		d.lastSeq = h.SequenceNumber + d.seqOff - 1
		d.addSegmentLocked(seqSegment{start: h.SequenceNumber + d.seqOff, layer: l, seqOff: d.seqOff, tsOff: d.tsOff})
	}
	if l != d.current || d.current == layerOff {
		return rtp.Header{}, false, false
	}
	out = *h
	out.SequenceNumber = h.SequenceNumber + d.seqOff
	if back := d.lastSeq - out.SequenceNumber; back != 0 && back < 0x8000 && int(back) >= d.segs[0].n {
		// A late packet from before the switch to this layer: its number
		// belongs to the previous layer's packets.
		return rtp.Header{}, false, false
	}
	out.Timestamp = h.Timestamp + d.tsOff
	// Header extensions carry the publisher's IDs (mid, rid, transport-wide
	// sequence numbers); the subscriber's session has its own.
	out.Extension, out.Extensions, out.ExtensionProfile = false, nil, 0
	if diff := out.SequenceNumber - d.lastSeq; diff != 0 && diff < 0x8000 {
		d.lastSeq, d.lastTS, d.lastAt = out.SequenceNumber, out.Timestamp, now
		d.segs[0].n = min(d.segs[0].n+int(diff), maxSegmentLen)
	}
	return out, true, switched
}

// forward sends one packet of layer l if this subscriber receives that layer.
func (d *downTrack) forward(l int, pkt *rtp.Packet, key bool, now time.Time) {
	d.wmu.Lock()
	h, ok, switched := d.rewrite(l, &pkt.Header, key, now)
	if ok {
		_ = d.local.WriteRTP(&rtp.Packet{Header: h, Payload: pkt.Payload})
	}
	d.wmu.Unlock()
	if !ok {
		return
	}
	if switched {
		d.sub.kick()
	}
}

// requestKeyframe asks for a keyframe of the layer the subscriber receives
// or waits for, when the subscriber reports a picture loss.
func (d *downTrack) requestKeyframe() {
	cur, tgt := d.layers()
	if tgt != layerOff && tgt != cur {
		d.out.keyframe(tgt)
	} else if cur != layerOff {
		d.out.keyframe(cur)
	}
}
