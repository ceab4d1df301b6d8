package sfu

import (
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// Retransmission. Each published video layer keeps its last packets
// (cacheSizes) once, however many subscribers receive it; a subscriber's NACK
// is answered from there. The subscriber NACKs sequence numbers of its own
// stream, which the downTrack rewrote (layer switches shift them), so each
// downTrack remembers where its recent switches happened and maps a NACKed
// number back to a layer and that layer's own sequence number. The
// retransmission is written with the subscriber's sequence number and
// timestamp on the media SSRC; rtxInterceptor (rtx.go) sends it on the
// stream's RTX SSRC (RFC 4588) when the subscriber accepted rtx.

// cacheSizes is the number of packets kept per layer (q, h, f; a camera
// without simulcast counts as f), each a power of two so that sequence
// numbers wrap onto the same slots: about 3 s of each at the bitrates the
// client sends (150 kbit/s, 500 kbit/s, 1.5 Mbit/s; more with smaller
// packets), and a whole keyframe of any. A NACK comes within a round
// trip or two, so older packets are never asked for; a slot keeps its
// payload array, so the cache's memory is its slots times the packet size.
var cacheSizes = [numLayers]int{128, 256, 512}

// cachedPacket is one slot of a packetCache; payload's array is reused.
type cachedPacket struct {
	valid   bool
	seq     uint16
	ts      uint32
	marker  bool
	payload []byte
}

// packetCache holds the latest packets of one inbound layer by sequence number.
type packetCache struct {
	mu   sync.Mutex
	size int            // slots, a power of two; 0 means the largest of cacheSizes
	pkts []cachedPacket // size slots, allocated with the first packet
}

// add stores a copy of the packet, replacing the one size numbers older.
// It reports false, and stores nothing, if the packet is kept already (a
// publisher's retransmission of a packet that arrived after all), or if
// it is late (older than the layer's newest) and its slot holds a newer
// packet: it is older than anything the cache keeps, too old to forward.
func (c *packetCache) add(h *rtp.Header, payload []byte, late bool) (fresh bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pkts == nil {
		if c.size == 0 {
			c.size = cacheSizes[numLayers-1]
		}
		c.pkts = make([]cachedPacket, c.size)
	}
	s := &c.pkts[int(h.SequenceNumber)%len(c.pkts)]
	if s.valid && (s.seq == h.SequenceNumber && s.ts == h.Timestamp || late && isLate(h.SequenceNumber, s.seq)) {
		return false
	}
	s.valid, s.seq, s.ts, s.marker = true, h.SequenceNumber, h.Timestamp, h.Marker
	s.payload = append(s.payload[:0], payload...)
	return true
}

// get returns a copy of the packet with this sequence number, if still kept.
func (c *packetCache) get(seq uint16) (ts uint32, marker bool, payload []byte, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pkts == nil {
		return 0, false, nil, false
	}
	s := &c.pkts[int(seq)%len(c.pkts)]
	if !s.valid || s.seq != seq {
		return 0, false, nil, false
	}
	return s.ts, s.marker, append([]byte(nil), s.payload...), true
}

// seqSegment is a run of a downTrack's outgoing packets forwarded from one
// layer with one offset: from the outgoing number start onwards, outgoing
// n came from the layer's packet n-seqOff.
type seqSegment struct {
	start  uint16
	layer  int
	seqOff uint16
	tsOff  uint32
	// n is how many outgoing numbers the segment covers, from start to
	// the newest sent (for the newest segment) or to the next segment's
	// start, up to maxSegmentLen. Counting, rather than comparing numbers
	// with start, stays right when a segment outlives half the 16-bit
	// sequence space (a subscriber on one layer for minutes).
	n int
}

// maxSegmentLen caps seqSegment.n: older numbers are far out of any cache.
const maxSegmentLen = 0x4000

// maxSegments is how many layer switches a downTrack remembers; older
// packets are not retransmitted.
const maxSegments = 4

// addSegmentLocked records a switch; d.mu is held.
func (d *downTrack) addSegmentLocked(s seqSegment) {
	copy(d.segs[1:], d.segs[:maxSegments-1])
	d.segs[0] = s
	if d.nsegs < maxSegments {
		d.nsegs++
	}
}

// source maps an outgoing sequence number that the subscriber NACKed to
// the layer and the layer's sequence number it was forwarded from.
func (d *downTrack) source(seq uint16) (layer int, in uint16, tsOff uint32, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.started || d.lastSeq-seq >= 0x8000 {
		return 0, 0, 0, false // never sent, or newer than anything sent
	}
	back := int(d.lastSeq - seq)         // how far behind the newest sent
	for _, s := range d.segs[:d.nsegs] { // newest first
		if back < s.n {
			return s.layer, seq - s.seqOff, s.tsOff, true
		}
		back -= s.n
	}
	return 0, 0, 0, false
}

// retransmit resends the NACKed packets that are still in the cache.
func (d *downTrack) retransmit(nacks []rtcp.NackPair) {
	for _, n := range nacks {
		for _, seq := range n.PacketList() {
			layer, in, tsOff, ok := d.source(seq)
			if !ok {
				continue
			}
			l := d.out.layer(layer)
			if l == nil {
				continue
			}
			ts, marker, payload, ok := l.cache.get(in)
			if !ok {
				continue
			}
			h := rtp.Header{Version: 2, Marker: marker, SequenceNumber: seq, Timestamp: ts + tsOff}
			_ = d.local.WriteRTP(&rtp.Packet{Header: h, Payload: payload})
		}
	}
}

// layer returns inbound layer i, nil if it has not arrived.
func (o *videoOut) layer(i int) *layerIn {
	if i < 0 || i >= numLayers {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.layers[i]
}
