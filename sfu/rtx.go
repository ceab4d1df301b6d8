package sfu

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// RTX (RFC 4588). The SFU offers video/rtx for VP8 and H.264
// (newMediaEngine), both ways:
//
//   - From publishers, pion reads each encoding's repair stream (associated
//     by ssrc-group:FID, or for simulcast by the rrid header extension) and
//     TrackRemote.ReadRTP returns a repaired packet with its original
//     sequence number, so the SFU's receive path sees one stream per layer.
//     pion drops padding-only RTX packets (Chrome's bandwidth probes) and
//     RTX payloads shorter than the 2-byte original sequence number.
//     A repaired packet usually arrives after newer ones: videoOut.receive
//     caches it, forwards it without treating it as the start of a layer
//     switch, and drops it if it was already received.
//     pion hands the repaired packet to the track past the media stream's
//     interceptors, so the NACK generator would go on asking for it until
//     512 newer packets arrived (seconds; a publisher answers every NACK).
//     rtxInterceptor therefore notes each repaired sequence number and
//     takes it out of the NACKs the SFU sends. It pairs an RTX stream with
//     its media stream as pion does, by the mid and rid (rrid on RTX)
//     header extensions that browsers put on a stream's first packets.
//   - To subscribers, pion's RTPSender gives each outgoing video stream an
//     RTX SSRC when the subscriber's answer accepted rtx (0 otherwise).
//     The downTrack writes a retransmission (cache.go) like any packet, on
//     the media SSRC with the subscriber's sequence number; rtxInterceptor,
//     the innermost interceptor, recognises it as a packet not newer than
//     the newest sent and rewrites it into an RTX packet: RTX SSRC and
//     payload type, the stream's own RTX sequence number, the original
//     sequence number (OSN) before the payload. Interceptors outside it
//     (sender reports, the congestion controller and its retransmission
//     allowance, transport-wide sequence numbers) see the media packet, as
//     they did before RTX. A subscriber without rtx gets the retransmission
//     unchanged on the media SSRC (RFC 4585).
//
// The cache stays one per published layer; only the RTX sequence counter is
// per subscriber stream.

// rtxFactory builds the rtxInterceptor of each PeerConnection. It must be
// the first factory in the registry: the first is innermost, next to SRTP.
type rtxFactory struct{}

// NewInterceptor implements interceptor.Factory.
func (rtxFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &rtxInterceptor{}, nil
}

// rtxInterceptor turns retransmissions on outgoing streams with an RTX
// SSRC into RTX packets, and keeps the NACKs the SFU sends from asking
// for packets that a publisher's RTX stream repaired.
type rtxInterceptor struct {
	interceptor.NoOp

	mu       sync.Mutex
	media    map[string]uint32     // "mid/rid" of an inbound media stream -> its SSRC
	rtxOf    map[uint32]string     // inbound RTX SSRC -> "mid/rid" it repairs
	repaired map[uint32]*repairLog // media SSRC -> its repaired sequence numbers
}

// repairLog remembers the sequence numbers an RTX stream repaired, each in
// the slot of its number modulo the size: at least as many as the NACK
// generator's window (512 packets). A repair counts for repairMemory, so
// that a number lost again after the 16-bit numbering wrapped (minutes
// later) is asked for.
type repairLog [1024]struct {
	seq uint16
	at  int64 // when it was repaired (UnixNano); 0 is empty
}

// repairMemory is how long a repair keeps its number out of NACKs: longer
// than the generator asks for a packet at the layers' packet rates, far
// shorter than the numbering takes to wrap at any of them.
const repairMemory = 10 * time.Second

func (r *repairLog) add(seq uint16, now time.Time) {
	e := &r[int(seq)%len(r)]
	e.seq, e.at = seq, now.UnixNano()
}

func (r *repairLog) has(seq uint16, now time.Time) bool {
	e := &r[int(seq)%len(r)]
	return e.at != 0 && e.seq == seq && now.UnixNano()-e.at < int64(repairMemory)
}

func streamKey(mid, rid []byte) string { return string(mid) + "/" + string(rid) }
func isRTXStream(i *interceptor.StreamInfo) bool {
	return strings.EqualFold(i.MimeType, webrtc.MimeTypeRTX)
}

// BindRemoteStream learns which stream an inbound stream is from its first
// packets' mid and rid (or rrid), and notes what RTX packets repair.
func (x *rtxInterceptor) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	if isAudio(info) {
		return r
	}
	var midID, ridID uint8
	rtx := isRTXStream(info)
	for _, e := range info.RTPHeaderExtensions {
		switch {
		case e.URI == sdp.SDESMidURI:
			midID = uint8(e.ID)
		case e.URI == sdp.SDESRTPStreamIDURI && !rtx, e.URI == sdp.SDESRepairRTPStreamIDURI && rtx:
			ridID = uint8(e.ID)
		}
	}
	if midID == 0 {
		return r
	}
	ssrc, known := info.SSRC, false
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := r.Read(b, a)
		if err != nil || known && !rtx {
			return n, a, err
		}
		if !known {
			if a == nil {
				a = interceptor.Attributes{}
			}
			if h, herr := a.GetRTPHeader(b[:n]); herr == nil {
				if mid := h.GetExtension(midID); len(mid) > 0 {
					known = true
					x.learn(ssrc, streamKey(mid, h.GetExtension(ridID)), rtx)
				}
			}
		}
		if rtx {
			if osn, ok := rtxOSN(b[:n]); ok {
				x.noteRepaired(ssrc, osn)
			}
		}
		return n, a, err
	})
}

// rtxOSN returns the original sequence number of RTX packet b (RFC 4588
// section 4: the first 2 bytes of the payload); padding-only and
// malformed packets have none.
func rtxOSN(b []byte) (uint16, bool) {
	if len(b) < 12 {
		return 0, false
	}
	start := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 { // extension: 4-byte header, length in 32-bit words
		if len(b) < start+4 {
			return 0, false
		}
		start += 4 + 4*int(binary.BigEndian.Uint16(b[start+2:]))
	}
	end := len(b)
	if b[0]&0x20 != 0 { // padding: its length is the last byte
		end -= int(b[end-1])
	}
	if end-start < 2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(b[start:]), true
}

func (x *rtxInterceptor) learn(ssrc uint32, key string, rtx bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if rtx {
		if x.rtxOf == nil {
			x.rtxOf = map[uint32]string{}
		}
		x.rtxOf[ssrc] = key
		return
	}
	if x.media == nil {
		x.media = map[string]uint32{}
	}
	x.media[key] = ssrc
}

// noteRepaired records that the RTX stream rtxSSRC repaired packet osn.
func (x *rtxInterceptor) noteRepaired(rtxSSRC uint32, osn uint16) {
	x.mu.Lock()
	defer x.mu.Unlock()
	key, ok := x.rtxOf[rtxSSRC]
	if !ok {
		return
	}
	media, ok := x.media[key]
	if !ok {
		return
	}
	if x.repaired == nil {
		x.repaired = map[uint32]*repairLog{}
	}
	l := x.repaired[media]
	if l == nil {
		l = &repairLog{}
		x.repaired[media] = l
	}
	l.add(osn, time.Now())
}

// UnbindRemoteStream forgets a media stream's repairs.
func (x *rtxInterceptor) UnbindRemoteStream(info *interceptor.StreamInfo) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.repaired, info.SSRC)
	delete(x.rtxOf, info.SSRC)
}

// BindRTCPWriter takes repaired packets out of outgoing NACKs.
func (x *rtxInterceptor) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		var out []rtcp.Packet // nil until a NACK changes
		for i, p := range pkts {
			if n, ok := p.(*rtcp.TransportLayerNack); ok {
				if f := x.filterNack(n); f != n {
					if out == nil {
						out = append(make([]rtcp.Packet, 0, len(pkts)), pkts[:i]...)
					}
					if f != nil {
						out = append(out, f)
					}
					continue
				}
			}
			if out != nil {
				out = append(out, p)
			}
		}
		if out == nil {
			return w.Write(pkts, a)
		}
		if len(out) == 0 {
			return 0, nil
		}
		return w.Write(out, a)
	})
}

// filterNack returns n without the repaired numbers: n itself if none
// was, nil if all were.
func (x *rtxInterceptor) filterNack(n *rtcp.TransportLayerNack) *rtcp.TransportLayerNack {
	x.mu.Lock()
	defer x.mu.Unlock()
	l := x.repaired[n.MediaSSRC]
	if l == nil {
		return n
	}
	now := time.Now()
	var keep []uint16
	dropped := false
	for _, pair := range n.Nacks {
		for _, seq := range pair.PacketList() {
			if l.has(seq, now) {
				dropped = true
			} else {
				keep = append(keep, seq)
			}
		}
	}
	if !dropped {
		return n
	}
	if len(keep) == 0 {
		return nil
	}
	return &rtcp.TransportLayerNack{SenderSSRC: n.SenderSSRC, MediaSSRC: n.MediaSSRC,
		Nacks: rtcp.NackPairsFromSequenceNumbers(keep)}
}

// BindLocalStream wraps the writer of a stream whose receiver accepted rtx;
// other streams (audio, subscribers without rtx) keep theirs.
func (*rtxInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if info.SSRCRetransmission == 0 || info.PayloadTypeRetransmission == 0 {
		return w
	}
	return newRTXWriter(info.SSRCRetransmission, info.PayloadTypeRetransmission, w)
}

// rtxWriter is one outgoing stream's writer with RTX.
type rtxWriter struct {
	ssrc uint32
	pt   uint8
	next interceptor.RTPWriter

	mu      sync.Mutex
	started bool
	highest uint16 // the newest media sequence number sent
	seq     uint16 // the last RTX sequence number used
}

func newRTXWriter(ssrc uint32, pt uint8, next interceptor.RTPWriter) *rtxWriter {
	// RFC 3550 section 5.1: the first sequence number is random.
	return &rtxWriter{ssrc: ssrc, pt: pt, next: next, seq: uint16(rand.Uint32())}
}

// Write sends a new packet as it is, and a packet not newer than the
// newest sent (a retransmission, or a late packet from the publisher) as
// RTX.
func (w *rtxWriter) Write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	seq, again := w.classify(h.SequenceNumber)
	if !again {
		return w.next.Write(h, payload, a)
	}
	r := *h
	r.SSRC, r.PayloadType, r.SequenceNumber = w.ssrc, w.pt, seq
	b := make([]byte, 2+len(payload))
	binary.BigEndian.PutUint16(b, h.SequenceNumber) // RFC 4588 section 4: OSN
	copy(b[2:], payload)
	return w.next.Write(&r, b, a)
}

// classify reports whether media sequence number n was sent before (or is
// older than the newest sent, by at most lateWindow), and if so the RTX
// sequence number to use. A number further back is a jump in the
// numbering, not a retransmission: it goes out as media and is the new
// newest.
func (w *rtxWriter) classify(n uint16) (rtxSeq uint16, again bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started || n != w.highest && !isLate(n, w.highest) {
		w.started, w.highest = true, n
		return 0, false
	}
	w.seq++
	return w.seq, true
}
