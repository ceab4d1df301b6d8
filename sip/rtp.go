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
	closed                  bool       // Close ran: nothing more is sent
	overlay                 []int16    // a prompt played over the room's audio after Join (*6, *0)
	overlayPos              int
	overlayBuf              [mixer.NarrowSamples]int16
	sentPackets, sentOctets uint32 // for sender reports
	seq                     uint16
	ts                      uint32
	ssrc                    uint32
	marker                  bool
	sendCodec               Codec // the codec of the packets we send
	narrow                  [mixer.NarrowSamples]int16
	buf                     [rtpHeaderLen + mixer.MaxEncodedBytes]byte
	encBuf                  [rtpHeaderLen + mixer.MaxEncodedBytes + srtpMaxTag]byte
	hdr                     rtp.Header // the SRTP packet's header, kept here so sends do not allocate

	// A wideband leg's own 8 kHz audio (prompts, silence, overlays) is
	// taken up to 16 kHz and encoded with the leg's own encoder; the
	// room's audio comes encoded from the mixer's Frame.
	up      mixer.Upsampler
	wide    [mixer.FrameSamples]int16
	own     mixer.Encoder // nil until needed; of sendCodec
	ownFail bool          // creating own failed: logged once, not retried every frame

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
	s.sendCodec = media.Codec
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

// WriteAudio implements mixer.Leg: it encodes one frame (8 kHz) and sends
// it as one RTP packet. It does not block beyond the UDP write and keeps
// nothing of pcm.
func (s *rtpSession) WriteAudio(pcm []int16) { s.send(pcm, nil) }

// WriteFrame implements mixer.FrameLeg: like WriteAudio, but the payload
// comes from f's shared encodings (G.711 of its 8 kHz audio, G.722 and
// Opus of its 16 kHz audio), so all listeners of a room with the same codec
// cost one encode per tick together.
func (s *rtpSession) WriteFrame(f *mixer.Frame) { s.send(nil, f) }

// sendFrame sends one 20 ms packet of 8 kHz pcm; nil pcm sends silence.
func (s *rtpSession) sendFrame(pcm []int16) { s.send(pcm, nil) }

// send sends one 20 ms packet of pcm (8 kHz), or of f when f is not nil;
// nil pcm and nil f send silence. A prompt played over the room
// (playOverlay) replaces either.
func (s *rtpSession) send(pcm []int16, f *mixer.Frame) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.closed {
		return // the mixer may still hand a frame to a call that is ending
	}
	media := s.media.Load()
	if media.Codec != s.sendCodec {
		s.switchCodec(media.Codec)
	}
	if s.overlay != nil {
		pcm, f = s.nextOverlay(), nil
	}
	step := media.Codec.tsPerFrame()
	if !Direction(s.dir.Load()).weSend() {
		s.ts += step // on hold: send nothing, keep the clock running
		return
	}
	// The packet is built in place: the 12-byte header (RFC 3550 section
	// 5.1; no CSRC, no extension), then the payload.
	n := s.encode(s.buf[rtpHeaderLen:], media.Codec, pcm, f)
	if n <= 0 {
		s.ts += step // an encoder failed: a gap the caller conceals, not a broken packet
		return
	}
	pkt := s.buf[:rtpHeaderLen+n]
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
	s.ts += step
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
		s.sentOctets += uint32(n)
	}
}

// switchCodec starts sending in codec c (a re-INVITE changed it): the
// leg's own encoder and resampler start afresh, and the marker bit tells
// the caller's jitter buffer that a new talkspurt begins. sendMu held.
func (s *rtpSession) switchCodec(c Codec) {
	if s.own != nil {
		closeEncoder(s.own)
	}
	s.own, s.ownFail = nil, false
	s.up.Reset()
	s.sendCodec, s.marker = c, true
}

// encode writes one 20 ms payload in codec c into dst and returns its
// length, 0 when there is nothing to send. sendMu held.
func (s *rtpSession) encode(dst []byte, c Codec, pcm []int16, f *mixer.Frame) int {
	switch c {
	case PCMU, PCMA:
		slot, enc := slotULaw, EncodeULaw
		if c == PCMA {
			slot, enc = slotALaw, EncodeALaw
		}
		if f != nil {
			return copy(dst, f.Encoded(slot, enc))
		}
		k := enc(dst[:mixer.NarrowSamples], pcm)
		fill := silenceByte(c)
		for i := k; i < mixer.NarrowSamples; i++ {
			dst[i] = fill
		}
		return mixer.NarrowSamples
	}
	if f != nil {
		slot, newEnc := slotG722, newG722Encoder
		if c == Opus {
			slot, newEnc = slotOpus, newOpusEncoder
		}
		return copy(dst, f.EncodedWith(slot, newEnc))
	}
	// The leg's own 8 kHz audio, taken up to the codec's 16 kHz.
	k := copy(s.narrow[:], pcm)
	clear(s.narrow[k:])
	s.up.Process(s.wide[:], s.narrow[:])
	if s.own == nil {
		if s.ownFail {
			return 0
		}
		var err error
		if s.own, err = newEncoderFor(c); err != nil {
			s.ownFail = true
			s.log.Warn("rtp: no encoder", "codec", c.String(), "error", err)
			return 0
		}
	}
	n, err := s.own.Encode(dst, s.wide[:])
	if err != nil {
		return 0
	}
	return n
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
	r := newRTPReader(s)
	defer r.close()
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Debug("rtp read ended", "error", err)
			}
			return
		}
		r.handle(buf[:n], from)
	}
}

// rtpReader is the state of a session's RTP reader goroutine: what one
// datagram from the network goes through (handle), apart from the socket,
// so the whole path can be fuzzed.
type rtpReader struct {
	s     *rtpSession
	plain []byte
	pkt   rtp.Packet
	det   *dtmfDetector
	in    *audioIn
}

func newRTPReader(s *rtpSession) *rtpReader {
	return &rtpReader{s: s, plain: make([]byte, 1500), det: newDTMFDetector(), in: &audioIn{s: s}}
}

func (r *rtpReader) close() { r.in.dec.close() }

// handle takes one datagram that arrived from from: SRTP, the RTP header,
// the caller's payload types, symmetric-RTP latching, then DTMF events or
// audio. Anything malformed, forged or foreign is dropped.
func (r *rtpReader) handle(data []byte, from netip.AddrPort) {
	s := r.s
	if len(data) >= 2 && data[1] >= 192 && data[1] <= 223 && s.media.Load().RTCPMux {
		// RTCP on the RTP port (RFC 5761 §4: packet types 192-223 are not
		// RTP payload types in use); its header is clear even in SRTCP.
		s.handleRTCP(data, r.plain, from)
		return
	}
	if k := s.keys.Load(); k != nil {
		// Plain RTP, forged or replayed packets fail authentication here.
		var err error
		if data, err = k.decryptRTP(r.plain[:0], data); err != nil {
			return
		}
	}
	pkt := &r.pkt
	if err := pkt.Unmarshal(data); err != nil {
		return
	}
	media := s.media.Load()
	pt := int(pkt.PayloadType)
	if pt != int(media.PT) && pt != media.EventPT {
		return // unknown payload types (sipp sends PT 97) are ignored
	}
	if s.relearn.Swap(false) {
		s.guard = latchGuard{sdp: media.Remote}
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if !s.guard.admit(from) {
		return // not the caller's stream: ignored, so it cannot inject audio or keys
	}
	now := time.Now() // one clock read per packet: timeout and jitter
	s.lastRecv.Store(now.UnixNano())
	s.latch(from)
	if pt == media.EventPT {
		if d := r.det.Packet(pkt.SSRC, pkt.Timestamp, pkt.Payload); d != 0 {
			s.sendDigit(d)
		}
		return
	}
	s.stats.packet(pkt.SSRC, pkt.SequenceNumber, pkt.Timestamp, now, media.Codec.clockRate())
	r.in.packet(media, pkt)
}

// maxConceal is the most Opus packets lost in a row that the reader
// conceals when the next one arrives (decoder PLC, and the FEC copy in the
// next packet for the last of them); longer gaps are left to the mixer's
// jitter buffer.
const maxConceal = 3

// audioIn is the reader goroutine's audio path: decode in the call's
// codec, conceal Opus losses, find in-band DTMF, mute, and hand 20 ms
// frames to the room.
type audioIn struct {
	s       *rtpSession
	dec     rxDecoder
	ready   bool // dec is set up for dec.codec
	fr      framer
	inband  *inbandDetector
	down    mixer.Downsampler // 16 kHz to 8 kHz for the in-band detector
	narrow  [maxDecoded / 2]int16
	lastSeq uint16 // highest sequence number decoded, for loss concealment
	ssrc    uint32
	haveSeq bool
	seqLast bool // the last packet went to the room as one numbered 20 ms frame
}

// packet decodes one audio packet of the caller's and delivers its audio.
func (a *audioIn) packet(media *Media, pkt *rtp.Packet) {
	if !a.ready || media.Codec != a.dec.codec {
		if err := a.dec.use(media.Codec); err != nil {
			a.s.log.Warn("rtp: no decoder", "codec", media.Codec.String(), "error", err)
		}
		a.fr.reset(media.Codec.frameSamples())
		a.down.Reset()
		a.ready, a.haveSeq = true, false
	}
	ref := a.s.member.Load()
	seq := pkt.SequenceNumber
	// Concealed frames go with their numbers, so only in a stream of
	// numbered 20 ms frames (the lost packets were most likely 20 ms too).
	if a.haveSeq && pkt.SSRC == a.ssrc && ref != nil && a.dec.codec == Opus && a.seqLast {
		if gap := seq - a.lastSeq - 1; gap >= 1 && gap <= maxConceal {
			for i := gap; i >= 1; i-- {
				var next []byte
				if i == 1 {
					next = pkt.Payload
				}
				if pcm := a.dec.conceal(next); pcm != nil {
					a.deliver(seq-i, pcm, media.EventPT, ref, false)
				}
			}
		}
	}
	if !a.haveSeq || pkt.SSRC != a.ssrc || int16(seq-a.lastSeq) > 0 {
		a.lastSeq, a.ssrc, a.haveSeq = seq, pkt.SSRC, true
	}
	pcm := a.dec.decode(pkt.Payload)
	a.seqLast = ref != nil && a.fr.seqFramed(len(pcm), ref.m)
	if len(pcm) > 0 {
		a.deliver(seq, pcm, media.EventPT, ref, true)
	}
}

// deliver runs decoded audio through the in-band DTMF detector (when no
// telephone-event was negotiated and detect is set) and the caller's
// mute, then to the room when the caller joined.
func (a *audioIn) deliver(seq uint16, pcm []int16, eventPT int, ref *memberRef, detect bool) {
	if eventPT < 0 {
		if a.inband == nil {
			a.inband = newInbandDetector() // no telephone-event: keys arrive as tones
		}
		if detect {
			narrow := pcm
			if a.dec.codec.wideband() {
				// The detector works at 8 kHz; DTMF lies far below 4 kHz.
				narrow = a.narrow[:len(pcm)/2]
				a.down.Process(narrow, pcm)
			}
			a.inband.Feed(narrow, a.s.sendDigit)
		}
		if a.inband.Busy() {
			clear(pcm) // keys typed in the meeting do not reach the room as tones
		}
	}
	if a.s.muted.Load() {
		clear(pcm)
	}
	if ref != nil {
		a.fr.push(seq, pcm, ref.m)
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
		s.sendMu.Lock()
		if s.own != nil {
			closeEncoder(s.own)
		}
		s.closed, s.own = true, nil
		s.sendMu.Unlock()
	})
	<-s.done
	if s.rtcpDone != nil {
		<-s.rtcpDone
	}
	return err
}

// framer hands out the decoded audio of packets of any ptime in 20 ms
// frames of the codec's rate: mixer.NarrowSamples at 8 kHz (the zero
// value) or mixer.FrameSamples at 16 kHz.
type framer struct {
	frame [mixer.FrameSamples]int16
	size  int // samples per frame; 0 means mixer.NarrowSamples
	n     int // samples buffered in frame
}

// reset starts framing afresh in frames of size samples (a codec change).
func (f *framer) reset(size int) { f.size, f.n = size, 0 }

func (f *framer) frameLen() int {
	if f.size == 0 {
		return mixer.NarrowSamples
	}
	return f.size
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
	size := f.frameLen()
	if sp, ok := m.(SeqPusher); ok && f.n == 0 && len(src) == size {
		sp.PushSeq(seq, src)
		return
	}
	for len(src) > 0 {
		c := copy(f.frame[f.n:size], src)
		f.n += c
		src = src[c:]
		if f.n == size {
			m.Push(f.frame[:size])
			f.n = 0
		}
	}
}

// seqFramed reports whether a packet of n samples goes to m with its
// sequence number (see push), so that frames concealing a loss before it
// can go with theirs.
func (f *framer) seqFramed(n int, m Membership) bool {
	_, ok := m.(SeqPusher)
	return ok && f.n == 0 && n == f.frameLen()
}
