package sip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"dialroom/mixer"
)

// rtpHeaderLen is the fixed RTP header without CSRCs or extensions (RFC 3550 §5.1).
const rtpHeaderLen = 12

// maxFrameBytes bounds the audio payload we decode per packet (60 ms of G.711).
const maxFrameBytes = 3 * mixer.NarrowSamples

// rtpSession is the media of one call: one UDP socket, a reader goroutine
// that decodes audio and detects DTMF, and a sender used first by the call's
// ticker (prompts, silence) and after Join by the mixer via WriteAudio.
type rtpSession struct {
	conn  *net.UDPConn
	media atomic.Pointer[Media] // negotiated codec and payload types; replaced by re-INVITE/UPDATE
	log   *slog.Logger
	dir   atomic.Int32 // Direction of the caller's last offer
	guard latchGuard   // symmetric RTP source lock; reader goroutine only
	// relearn asks the reader to learn the caller's RTP source afresh
	// (after a re-INVITE or UPDATE changed the address).
	relearn atomic.Bool

	remote   atomic.Pointer[netip.AddrPort] // where we send; latched to the caller's source
	lastRecv atomic.Int64                   // unix nanoseconds of the last valid RTP packet
	member   atomic.Pointer[memberRef]      // set on Join; receives decoded audio

	digits chan byte     // DTMF digits for the call goroutine
	done   chan struct{} // closed when the reader goroutine returns

	muted atomic.Bool // the caller muted itself (*6): the room gets silence

	// keys are the SRTP contexts when the call negotiated RTP/SAVP (sdes.go);
	// nil for plain RTP. Replaced by re-INVITE/UPDATE.
	keys atomic.Pointer[srtpKeys]

	rtcpConn   *net.UDPConn                   // nil when the session has no RTCP
	rtcpDone   chan struct{}                  // closed when readRTCP returns
	rtcpRemote atomic.Pointer[netip.AddrPort] // where the caller's RTCP comes from
	stats      recvStats

	sendMu                  sync.Mutex // serialises senders so seq and timestamp stay continuous
	overlay                 []int16    // a prompt played over the room's audio after Join (*6, *0)
	overlayPos              int
	overlayBuf              [mixer.NarrowSamples]int16
	sentPackets, sentOctets uint32 // for sender reports
	seq                     uint16
	ts                      uint32
	ssrc                    uint32
	marker                  bool
	silence                 [mixer.NarrowSamples]int16
	buf                     [rtpHeaderLen + mixer.NarrowSamples]byte
	encBuf                  [rtpHeaderLen + mixer.NarrowSamples + srtpMaxTag]byte
	hdr                     rtp.Header // the SRTP packet's header, kept here so sends do not allocate

	closeOnce sync.Once
}

// memberRef boxes a Membership so it can sit in an atomic.Pointer.
type memberRef struct{ m Membership }

// listenRTP opens a UDP socket on an even port in [min, max] on ip (unspecified
// ip: all interfaces), trying ports from a random start.
func listenRTP(ip netip.Addr, minPort, maxPort int) (*net.UDPConn, error) {
	minPort += minPort % 2
	span := (maxPort - minPort) / 2
	if span < 0 {
		return nil, fmt.Errorf("rtp: empty port range %d-%d", minPort, maxPort)
	}
	start := rand.IntN(span + 1)
	var lastErr error
	for i := 0; i <= span; i++ {
		port := minPort + 2*((start+i)%(span+1))
		addr := &net.UDPAddr{Port: port}
		if ip.IsValid() && !ip.IsUnspecified() {
			addr.IP = ip.AsSlice()
		}
		conn, err := net.ListenUDP("udp", addr)
		if err == nil {
			return conn, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("rtp: no free port in %d-%d: %w", minPort, maxPort, lastErr)
}

func newRTPSession(conn *net.UDPConn, media Media, log *slog.Logger) *rtpSession {
	s := &rtpSession{
		conn:   conn,
		log:    log,
		digits: make(chan byte, 32),
		done:   make(chan struct{}),
		seq:    uint16(rand.Uint32()),
		ts:     rand.Uint32(),
		ssrc:   rand.Uint32(),
		marker: true,
	}
	s.media.Store(&media)
	s.setKeys(media)
	s.dir.Store(int32(media.Dir))
	s.guard.sdp = media.Remote
	if r := media.Remote; r.IsValid() && !r.Addr().IsUnspecified() {
		s.remote.Store(&r)
	}
	s.lastRecv.Store(time.Now().UnixNano())
	go s.readLoop()
	return s
}

// Port is the local RTP port announced in the SDP answer.
func (s *rtpSession) Port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

// LastReceived is when the last valid RTP packet arrived (or the session start).
func (s *rtpSession) LastReceived() time.Time { return time.Unix(0, s.lastRecv.Load()) }

// digitSource says how the digits on the digits channel were detected: RFC
// 4733 events when telephone-event was negotiated, else in-band tones.
func (s *rtpSession) digitSource() digitSource {
	if s.media.Load().EventPT >= 0 {
		return srcRFC4733
	}
	return srcInband
}

// SetMembership routes the caller's decoded audio to m from now on.
func (s *rtpSession) SetMembership(m Membership) { s.member.Store(&memberRef{m: m}) }

// WriteAudio implements mixer.Leg: it encodes one frame and sends it as one
// RTP packet. It does not block beyond the UDP write and keeps nothing of pcm.
func (s *rtpSession) WriteAudio(pcm []int16) { s.send(pcm, nil) }

// WriteFrame implements mixer.FrameLeg: like WriteAudio, but the G.711
// payload comes from f's shared encodings, so all listeners of a room with
// the same codec cost one encode per tick together.
func (s *rtpSession) WriteFrame(f *mixer.Frame) { s.send(nil, f) }

// sendFrame sends one 20 ms packet; nil pcm sends silence.
func (s *rtpSession) sendFrame(pcm []int16) { s.send(pcm, nil) }

// Frame encoding slots (mixer.Frame.Encoded) of the two codecs.
const (
	slotULaw = 0
	slotALaw = 1
)

// send sends one 20 ms packet of pcm, or of f when f is not nil; nil pcm
// and nil f send silence. A prompt played over the room (playOverlay)
// replaces either.
func (s *rtpSession) send(pcm []int16, f *mixer.Frame) {
	const n = mixer.NarrowSamples
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	media := s.media.Load()
	if s.overlay != nil {
		pcm, f = s.nextOverlay(), nil
	}
	if !Direction(s.dir.Load()).weSend() {
		s.ts += n // on hold: send nothing, keep the clock running
		return
	}
	// The packet is built in place: the 12-byte header (RFC 3550 section
	// 5.1; no CSRC, no extension), then the payload.
	pkt := s.buf[:rtpHeaderLen+n]
	payload := pkt[rtpHeaderLen:]
	switch {
	case f != nil && media.Codec == PCMA:
		copy(payload, f.Encoded(slotALaw, EncodeALaw))
	case f != nil:
		copy(payload, f.Encoded(slotULaw, EncodeULaw))
	default:
		if len(pcm) == 0 {
			pcm = s.silence[:]
		}
		var k int
		if media.Codec == PCMA {
			k = EncodeALaw(payload, pcm)
		} else {
			k = EncodeULaw(payload, pcm)
		}
		fill := silenceByte(media.Codec)
		for i := k; i < n; i++ {
			payload[i] = fill
		}
	}
	pkt[0] = 2 << 6 // version 2
	pkt[1] = media.PT & 0x7f
	if s.marker {
		pkt[1] |= 0x80
	}
	binary.BigEndian.PutUint16(pkt[2:], s.seq)
	binary.BigEndian.PutUint32(pkt[4:], s.ts)
	binary.BigEndian.PutUint32(pkt[8:], s.ssrc)
	marker, seq, ts := s.marker, s.seq, s.ts
	s.marker = false
	s.seq++
	s.ts += n
	dst := s.remote.Load()
	if dst == nil {
		return
	}
	out := pkt
	if k := s.keys.Load(); k != nil {
		s.hdr = rtp.Header{Version: 2, Marker: marker, PayloadType: media.PT,
			SequenceNumber: seq, Timestamp: ts, SSRC: s.ssrc}
		var err error
		if out, err = k.encryptRTP(s.encBuf[:0], pkt, &s.hdr); err != nil {
			return
		}
	}
	// Errors (e.g. ICMP port unreachable) are expected while the caller sets up.
	if _, err := s.conn.WriteToUDPAddrPort(out, *dst); err == nil {
		s.sentPackets++
		s.sentOctets += n
	}
}

func silenceByte(c Codec) byte {
	if c == PCMA {
		return 0xD5
	}
	return 0xFF
}

// readLoop is the one goroutine reading the call's socket; it returns when
// the socket is closed.
func (s *rtpSession) readLoop() {
	defer close(s.done)
	buf := make([]byte, 1500)
	plain := make([]byte, 1500)
	var pkt rtp.Packet
	det := newDTMFDetector()
	var inband *inbandDetector
	fr := framer{}
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Debug("rtp read ended", "error", err)
			}
			return
		}
		data := buf[:n]
		if k := s.keys.Load(); k != nil {
			// Plain RTP, forged or replayed packets fail authentication here.
			if data, err = k.decryptRTP(plain[:0], data); err != nil {
				continue
			}
		}
		if err := pkt.Unmarshal(data); err != nil {
			continue
		}
		media := s.media.Load()
		pt := int(pkt.PayloadType)
		if pt != int(media.PT) && pt != media.EventPT {
			continue // unknown payload types (sipp sends PT 97) are ignored
		}
		if s.relearn.Swap(false) {
			s.guard = latchGuard{sdp: media.Remote}
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if !s.guard.admit(from) {
			continue // not the caller's stream: ignored, so it cannot inject audio or keys
		}
		now := time.Now() // one clock read per packet: timeout and jitter
		s.lastRecv.Store(now.UnixNano())
		s.latch(from)
		if pt == media.EventPT {
			if d := det.Packet(pkt.SSRC, pkt.Timestamp, pkt.Payload); d != 0 {
				s.sendDigit(d)
			}
			continue
		}
		s.stats.packet(pkt.SSRC, pkt.SequenceNumber, pkt.Timestamp, now)
		pcm := fr.decode(media.Codec, pkt.Payload)
		if inband == nil && media.EventPT < 0 {
			inband = newInbandDetector() // no telephone-event: keys arrive as tones
		}
		if inband != nil && media.EventPT < 0 {
			inband.Feed(pcm, s.sendDigit)
			if inband.Busy() {
				clear(pcm) // keys typed in the meeting do not reach the room as tones
			}
		}
		if s.muted.Load() {
			clear(pcm)
		}
		if ref := s.member.Load(); ref != nil {
			fr.push(pkt.SequenceNumber, pcm, ref.m)
		}
	}
}

// sendDigit hands a detected digit to the call goroutine.
func (s *rtpSession) sendDigit(d byte) {
	select {
	case s.digits <- d:
	default: // the call is not reading; a digit flood is dropped
	}
}

// latch switches the destination to the source of the caller's RTP
// (symmetric RTP, so callers behind NAT hear us).
func (s *rtpSession) latch(from netip.AddrPort) {
	if cur := s.remote.Load(); cur != nil && *cur == from {
		return
	}
	// A copy on the heap only when the address changes: storing &from
	// would make every call, i.e. every packet, allocate.
	p := new(netip.AddrPort)
	*p = from
	s.remote.Store(p)
}

// Close closes the socket and waits for the reader goroutine. Idempotent.
func (s *rtpSession) Close() error {
	var err error
	s.closeOnce.Do(func() {
		err = s.conn.Close()
		if s.rtcpConn != nil {
			_ = s.rtcpConn.Close()
		}
	})
	<-s.done
	if s.rtcpDone != nil {
		<-s.rtcpDone
	}
	return err
}

// framer decodes G.711 payloads of any ptime and hands out 20 ms frames.
type framer struct {
	pcm   [maxFrameBytes]int16
	frame [mixer.NarrowSamples]int16
	n     int // samples buffered in frame
}

// decode turns a G.711 payload (at most maxFrameBytes of it) into PCM in
// f's buffer; the slice is valid until the next decode.
func (f *framer) decode(c Codec, payload []byte) []int16 {
	if len(payload) > maxFrameBytes {
		payload = payload[:maxFrameBytes]
	}
	var k int
	if c == PCMA {
		k = DecodeALaw(f.pcm[:], payload)
	} else {
		k = DecodeULaw(f.pcm[:], payload)
	}
	return f.pcm[:k]
}

// SeqPusher is implemented by a Membership whose jitter buffer orders frames
// by RTP sequence number (handling loss, reordering and duplicates).
type SeqPusher interface {
	PushSeq(seq uint16, pcm []int16)
}

// push hands src to m in 20 ms frames, keeping the remainder for next time.
// A packet of exactly one frame (the usual 20 ms ptime) goes with its
// sequence number when m can use it; other ptimes are re-framed in order.
func (f *framer) push(seq uint16, src []int16, m Membership) {
	if sp, ok := m.(SeqPusher); ok && f.n == 0 && len(src) == len(f.frame) {
		sp.PushSeq(seq, src)
		return
	}
	for len(src) > 0 {
		c := copy(f.frame[f.n:], src)
		f.n += c
		src = src[c:]
		if f.n == len(f.frame) {
			m.Push(f.frame[:])
			f.n = 0
		}
	}
}
