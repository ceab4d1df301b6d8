package sfu

import (
	"errors"
	"strings"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Opus with redundancy (RED, RFC 2198). A browser that negotiates
// red/48000/2 (Chrome and Edge do; Safari 16 and later too; Firefox answers
// without it) sends each Opus frame again in the next packet, so a single
// lost packet costs nothing. The SFU registers RED before Opus whenever it
// runs audio slots: Chrome sends RED only when red comes first in the
// negotiated list, and only with the "111/111" fmtp line (RFC 2198 section
// 5 with Opus at payload type 111).
//
// Inbound, the audio sinks (the mixer) get plain Opus: the primary block,
// preceded by a redundant block when its packet was lost on the way in
// (redSplitter). Outbound, a slot subscriber whose answer kept red gets RED
// and one that did not gets the primary Opus, with lost packets recovered
// the same way (slotTrack, slotPayloads, audioslot.go). A publisher that
// sends plain Opus reaches RED subscribers in RED built from its previous
// frame: the redundancy then guards the subscriber's downlink, the weak
// line RED is for, at the cost of one frame copy per packet and slot.
// With audio last-N off (audio_last_n = 0) the SFU does not offer RED:
// per-participant tracks forward the publisher's packets as they are, and
// a RED track could not bind to a subscriber without RED.

// mimeTypeRED is RFC 2198 redundant audio data.
const mimeTypeRED = "audio/red"

// redPayloadType is the payload type the SFU's offers give RED; Chrome
// uses the same number. As the offerer the SFU's numbers are the ones the
// browser sends with.
const redPayloadType = 63

// opusPayloadType is Opus's payload type in the SFU's offers.
const opusPayloadType = 111

// redCapability is Opus in RED: one Opus frame per block (the fmtp names
// the primary's and the redundant blocks' payload types).
var redCapability = webrtc.RTPCodecCapability{
	MimeType: mimeTypeRED, ClockRate: 48000, Channels: 2, SDPFmtpLine: "111/111",
}

// Errors of parseRED; a packet that has one is dropped.
var (
	errREDTruncated = errors.New("sfu: red: block header past the end of the payload")
	errREDLength    = errors.New("sfu: red: block lengths exceed the payload")
	errREDBlocks    = errors.New("sfu: red: too many redundant blocks")
)

// maxREDBlocks is the most redundant blocks a packet may carry; libwebrtc
// accepts up to 32 and sends one or two.
const maxREDBlocks = 32

// redBlock is one block of a RED payload.
type redBlock struct {
	pt       uint8  // payload type of the block's data
	tsOffset uint32 // how much older than the packet's timestamp (0 for the primary)
	data     []byte // aliases the packet's payload
	n        int    // the header's block length, while parsing
}

// parseRED parses an RFC 2198 payload (section 3) into blocks, the
// redundant ones oldest first as sent and the primary last, appended to
// dst[:0] so that a caller with capacity allocates nothing. Each redundant
// block has a 4-byte header (F=1, payload type, 14-bit timestamp offset,
// 10-bit length); the primary a 1-byte one (F=0, payload type) and the
// rest of the payload as its data.
func parseRED(payload []byte, dst []redBlock) ([]redBlock, error) {
	blocks := dst[:0]
	i := 0
	for {
		if i >= len(payload) {
			return dst[:0], errREDTruncated
		}
		b := payload[i]
		if b&0x80 == 0 {
			blocks = append(blocks, redBlock{pt: b & 0x7f})
			i++
			break
		}
		if i+4 > len(payload) {
			return dst[:0], errREDTruncated
		}
		if len(blocks) == maxREDBlocks {
			return dst[:0], errREDBlocks
		}
		h := uint32(payload[i+1])<<16 | uint32(payload[i+2])<<8 | uint32(payload[i+3])
		blocks = append(blocks, redBlock{pt: b & 0x7f, tsOffset: h >> 10, n: int(h & 0x3ff)})
		i += 4
	}
	// The data follows the headers, in the order of the headers.
	for k := range blocks[:len(blocks)-1] {
		n := blocks[k].n
		if n > len(payload)-i {
			return dst[:0], errREDLength
		}
		blocks[k].data = payload[i : i+n : i+n]
		i += n
	}
	blocks[len(blocks)-1].data = payload[i:len(payload):len(payload)]
	return blocks, nil
}

// appendRED appends a RED payload of the given blocks (redundant ones
// first, primary last) to dst. Offsets must be below 2^14 and redundant
// data shorter than 1024 bytes (the caller checks).
func appendRED(dst []byte, blocks []redBlock) []byte {
	last := len(blocks) - 1
	for _, b := range blocks[:last] {
		h := b.tsOffset<<10 | uint32(len(b.data))
		dst = append(dst, 0x80|b.pt, byte(h>>16), byte(h>>8), byte(h))
	}
	dst = append(dst, blocks[last].pt&0x7f)
	for _, b := range blocks {
		dst = append(dst, b.data...)
	}
	return dst
}

// isRED reports whether pkt carries RED, by the payload type the SFU offers.
func isRED(pkt *rtp.Packet) bool { return pkt.PayloadType == redPayloadType }

// REDStats counts the RED a Manager has received from browsers.
type REDStats struct {
	Packets   uint64 // RED packets received (not counting padding-only ones)
	Recovered uint64 // lost packets recovered from the next packet's redundancy
	Malformed uint64 // RED packets dropped because their blocks did not parse
}

// redCounters are a Manager's REDStats, updated by every audio reader.
type redCounters struct {
	packets, recovered, malformed atomic.Uint64
}

// REDStats returns the RED counters of every room of the manager.
func (m *Manager) REDStats() REDStats {
	return REDStats{Packets: m.red.packets.Load(), Recovered: m.red.recovered.Load(),
		Malformed: m.red.malformed.Load()}
}

// lossTracker knows the newest packet of a stream handed on, to tell
// which redundant blocks of a RED packet carry packets that were lost.
type lossTracker struct {
	started bool
	lastSeq uint16 // newest sequence number handed on
	lastTS  uint32 // its timestamp
}

// lost reports whether the packet seq (timestamp ts) is newer than the
// newest one handed on, i.e. it was lost or has not arrived.
func (l *lossTracker) lost(seq uint16, ts uint32) bool {
	return l.started && int16(seq-l.lastSeq) > 0 && int32(ts-l.lastTS) > 0
}

// advance records seq as handed on if it is the newest.
func (l *lossTracker) advance(seq uint16, ts uint32) {
	if !l.started || int16(seq-l.lastSeq) > 0 {
		l.started, l.lastSeq, l.lastTS = true, seq, ts
	}
}

// recover calls f, oldest first, for each redundant block of pkt (blocks
// from parseRED) that carries a packet never handed on, with that packet's
// sequence number and timestamp, and records it as handed on. Only blocks
// of the primary's codec count (Opus: "111/111"). Block k of
// n redundant blocks is taken to be the packet sent n−k packets earlier,
// as browsers send them (the last packets they encoded, distance 1 or 2).
func (l *lossTracker) recover(pkt *rtp.Packet, blocks []redBlock, f func(seq uint16, ts uint32, b redBlock)) {
	n := len(blocks) - 1
	for k, b := range blocks[:n] {
		seq := pkt.SequenceNumber - uint16(n-k)
		ts := pkt.Timestamp - b.tsOffset
		if b.pt != blocks[n].pt || b.tsOffset == 0 || len(b.data) == 0 || !l.lost(seq, ts) {
			continue
		}
		f(seq, ts, b)
		l.advance(seq, ts)
	}
}

// redSplitter turns one inbound audio track's packets into plain Opus for
// the audio sinks. It belongs to the track's reader goroutine.
type redSplitter struct {
	lossTracker
	blocks []redBlock
	rec    []recoveredBlock // this packet's recoveries, reused
	out    rtp.Packet       // the packet handed on, reused
}

// recoveredBlock is a lost packet a RED packet's redundancy carries.
type recoveredBlock struct {
	seq uint16
	ts  uint32
	b   redBlock
}

// toSinks hands pkt, publisher id's audio, to the room's audio sinks as
// plain Opus: a plain packet as it is; a RED packet as its primary block,
// followed by the redundant blocks of packets that never arrived, each with
// its own sequence number and timestamp. They follow the primary so that a
// jitter buffer sees them as older than a packet it has (late, not jitter:
// the mixer does not measure them). The sinks must not keep a packet
// (AudioSink), so one is reused.
func (s *redSplitter) toSinks(r *Room, id string, pkt *rtp.Packet) {
	sinks := *r.sinks.Load()
	if !isRED(pkt) {
		s.advance(pkt.SequenceNumber, pkt.Timestamp)
		for _, e := range sinks {
			e.sink.OnAudio(id, pkt)
		}
		return
	}
	if len(pkt.Payload) == 0 { // padding only (Chrome probes with it): nothing to hand on
		s.advance(pkt.SequenceNumber, pkt.Timestamp)
		return
	}
	c := &r.m.red
	c.packets.Add(1)
	blocks, err := parseRED(pkt.Payload, s.blocks)
	s.blocks = blocks[:0]
	if err != nil {
		c.malformed.Add(1)
		return
	}
	s.rec = s.rec[:0]
	s.recover(pkt, blocks, func(seq uint16, ts uint32, b redBlock) {
		s.rec = append(s.rec, recoveredBlock{seq: seq, ts: ts, b: b})
	})
	s.advance(pkt.SequenceNumber, pkt.Timestamp)
	primary := blocks[len(blocks)-1]
	s.out.Header = pkt.Header
	s.out.PayloadType, s.out.Payload = primary.pt, primary.data
	if len(primary.data) > 0 {
		for _, e := range sinks {
			e.sink.OnAudio(id, &s.out)
		}
	}
	s.out.Marker = false
	for _, rb := range s.rec {
		s.out.SequenceNumber, s.out.Timestamp, s.out.PayloadType = rb.seq, rb.ts, rb.b.pt
		s.out.Payload = rb.b.data
		c.recovered.Add(1)
		for _, e := range sinks {
			e.sink.OnAudio(id, &s.out)
		}
	}
}

// slotTrack is a slot's outgoing audio for one subscriber. Unlike a
// TrackLocalStaticRTP it binds to either codec: RED when the subscriber's
// answer kept red, Opus otherwise, and the slot sends each subscriber the
// payload its binding takes.
type slotTrack struct {
	id string
	b  atomic.Pointer[slotBinding]
}

// slotBinding is where a slotTrack's packets go once negotiated.
type slotBinding struct {
	ctxID  string
	ssrc   uint32
	opusPT uint8
	redPT  uint8
	red    bool // the subscriber takes RED
	ws     webrtc.TrackLocalWriter
}

func newSlotTrack(id string) *slotTrack { return &slotTrack{id: id} }

// Bind implements webrtc.TrackLocal: it picks RED if negotiated, else Opus.
func (t *slotTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	var opus, red *webrtc.RTPCodecParameters
	codecs := ctx.CodecParameters()
	for i := range codecs {
		switch c := &codecs[i]; {
		case opus == nil && strings.EqualFold(c.MimeType, webrtc.MimeTypeOpus):
			opus = c
		case red == nil && strings.EqualFold(c.MimeType, mimeTypeRED):
			red = c
		}
	}
	if opus == nil {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	b := &slotBinding{ctxID: ctx.ID(), ssrc: uint32(ctx.SSRC()), opusPT: uint8(opus.PayloadType), ws: ctx.WriteStream()}
	chosen := *opus
	if red != nil {
		b.red, b.redPT, chosen = true, uint8(red.PayloadType), *red
	}
	t.b.Store(b)
	return chosen, nil
}

// Unbind implements webrtc.TrackLocal.
func (t *slotTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	if b := t.b.Load(); b != nil && b.ctxID == ctx.ID() {
		t.b.CompareAndSwap(b, nil)
	}
	return nil
}

// ID implements webrtc.TrackLocal.
func (t *slotTrack) ID() string { return t.id }

// RID implements webrtc.TrackLocal: slots have no simulcast.
func (t *slotTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal.
func (t *slotTrack) StreamID() string { return SlotStreamID }

// Kind implements webrtc.TrackLocal.
func (t *slotTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

// binding returns the track's binding, nil before negotiation or after close.
func (t *slotTrack) binding() *slotBinding { return t.b.Load() }

// write sends h with the payload for the binding's codec: red if the
// subscriber takes RED, else opus.
func (b *slotBinding) write(h *rtp.Header, opus, red []byte) {
	h.SSRC = b.ssrc
	payload := opus
	h.PayloadType = b.opusPT
	if b.red {
		payload, h.PayloadType = red, b.redPT
	}
	_, _ = b.ws.WriteRTP(h, payload) // fails only once the connection closed
}

// slotPayloads are the two forms of one slot packet, made once per packet
// for every subscriber (under the slot's mu). The RED form of a plain Opus
// packet is built only when a subscriber takes RED, so a room without RED
// subscribers pays one frame copy per packet for it.
type slotPayloads struct {
	blocks  []redBlock
	redBuf  []byte
	onlyBuf []byte

	// The occupant's last two Opus frames when it sends plain Opus:
	// frames[cur] is this packet's, frames[cur^1] the one before.
	frames   [2][]byte
	cur      int
	lastSeq  uint16 // sequence number, timestamp and occupancy of frames[cur]
	lastTS   uint32
	lastGen  uint64
	hasLast  bool
	withPrev bool   // this packet's RED carries frames[cur^1]
	prevOff  uint32 // its timestamp offset

	opus     []byte // primary Opus frame
	opusPT   uint8  // its payload type as the publisher sent it
	red      []byte // RED payload: the publisher's, or built with the previous frame
	redReady bool   // red is made
	oldest   uint32 // timestamp of the oldest block in red
	redOnly  []byte // RED with the primary only, made on demand

	// Packets of the occupancy lost on the way in and recovered from this
	// packet's redundancy, for the subscribers that take plain Opus (a
	// RED subscriber recovers them itself).
	fwd       lossTracker
	fwdGen    uint64
	recovered []recoveredPacket
}

// recoveredPacket is a lost packet rebuilt from a redundant block.
type recoveredPacket struct {
	hdr  rtp.Header
	data []byte // aliases the RED packet's payload
}

// prepare makes the payloads of pkt, occupancy gen's packet. It reports
// false for a RED packet that does not parse, which is dropped. A packet
// without payload (padding) stays one in either form.
func (sp *slotPayloads) prepare(pkt *rtp.Packet, gen uint64) bool {
	sp.redOnly = nil
	sp.redReady = true
	sp.recovered = sp.recovered[:0]
	if gen != sp.fwdGen {
		sp.fwd, sp.fwdGen = lossTracker{}, gen
	}
	if len(pkt.Payload) == 0 { // padding only (Chrome sends some): as it came
		sp.opus, sp.red, sp.oldest = nil, nil, pkt.Timestamp
		sp.fwd.advance(pkt.SequenceNumber, pkt.Timestamp)
		return true
	}
	if isRED(pkt) {
		blocks, err := parseRED(pkt.Payload, sp.blocks)
		sp.blocks = blocks[:0]
		if err != nil {
			return false
		}
		primary := blocks[len(blocks)-1]
		sp.opus, sp.opusPT, sp.red, sp.oldest = primary.data, primary.pt, pkt.Payload, pkt.Timestamp
		for _, b := range blocks[:len(blocks)-1] {
			if int32(pkt.Timestamp-b.tsOffset-sp.oldest) < 0 {
				sp.oldest = pkt.Timestamp - b.tsOffset
			}
		}
		sp.fwd.recover(pkt, blocks, func(seq uint16, ts uint32, b redBlock) {
			h := pkt.Header
			h.SequenceNumber, h.Timestamp, h.Marker = seq, ts, false // write sets the payload type
			sp.recovered = append(sp.recovered, recoveredPacket{hdr: h, data: b.data})
		})
		sp.fwd.advance(pkt.SequenceNumber, pkt.Timestamp)
		sp.hasLast = false
		return true
	}
	// Plain Opus: its RED carries the occupant's previous frame as
	// redundancy, as a browser's encoder would, when that frame is the
	// one just before (distance 1) and fits the header's fields.
	sp.fwd.advance(pkt.SequenceNumber, pkt.Timestamp)
	sp.opus, sp.opusPT, sp.oldest = pkt.Payload, pkt.PayloadType&0x7f, pkt.Timestamp
	off := pkt.Timestamp - sp.lastTS
	sp.withPrev = sp.hasLast && sp.lastGen == gen && pkt.SequenceNumber == sp.lastSeq+1 &&
		off > 0 && off < 1<<14 && len(sp.frames[sp.cur]) < 1<<10
	if sp.withPrev {
		sp.prevOff, sp.oldest = off, sp.lastTS
	}
	sp.cur ^= 1
	sp.frames[sp.cur] = append(sp.frames[sp.cur][:0], pkt.Payload...)
	sp.lastSeq, sp.lastTS, sp.lastGen, sp.hasLast = pkt.SequenceNumber, pkt.Timestamp, gen, true
	sp.red, sp.redReady = nil, false
	return true
}

// redFrom returns the RED payload for a subscriber whose stream of this
// occupancy began at timestamp start (the publisher's clock): redundancy
// older than that belongs to the slot's previous occupant or precedes
// what the subscriber has heard, so it is left out.
func (sp *slotPayloads) redFrom(start uint32) []byte {
	if int32(sp.oldest-start) >= 0 {
		if !sp.redReady {
			blocks := sp.blocks[:0]
			if sp.withPrev {
				blocks = append(blocks, redBlock{pt: sp.opusPT, tsOffset: sp.prevOff, data: sp.frames[sp.cur^1]})
			}
			blocks = append(blocks, redBlock{pt: sp.opusPT, data: sp.frames[sp.cur]})
			sp.redBuf = appendRED(sp.redBuf[:0], blocks)
			sp.red, sp.redReady, sp.blocks = sp.redBuf, true, blocks[:0]
		}
		return sp.red
	}
	if sp.redOnly == nil {
		sp.onlyBuf = appendRED(sp.onlyBuf[:0], []redBlock{{pt: sp.opusPT, data: sp.opus}})
		sp.redOnly = sp.onlyBuf
	}
	return sp.redOnly
}
