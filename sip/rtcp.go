package sip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtcp"
)

// rtcpInterval is how often we send a report (RFC 3550 §6.2 suggests 5 s
// as the minimum for a two-party session).
const rtcpInterval = 5 * time.Second

// listenRTPPair binds an even RTP port and the RTCP port above it (RFC
// 3550 §11), trying other pairs when the odd port is taken.
func listenRTPPair(ip netip.Addr, minPort, maxPort int) (rtpConn, rtcpConn *net.UDPConn, err error) {
	for range 50 {
		rtpConn, err = listenRTP(ip, minPort, maxPort)
		if err != nil {
			return nil, nil, err
		}
		addr := &net.UDPAddr{Port: rtpConn.LocalAddr().(*net.UDPAddr).Port + 1}
		if ip.IsValid() && !ip.IsUnspecified() {
			addr.IP = ip.AsSlice()
		}
		rtcpConn, err = net.ListenUDP("udp", addr)
		if err == nil {
			return rtpConn, rtcpConn, nil
		}
		rtpConn.Close()
	}
	return nil, nil, fmt.Errorf("rtp: no free rtp/rtcp port pair in %d-%d: %w", minPort, maxPort, err)
}

// recvStats is what RFC 3550 §6.4.1 and Appendix A.3/A.8 need to report
// on the caller's stream. Written by the reader, read by the reporter.
type recvStats struct {
	mu       sync.Mutex
	ssrc     uint32
	started  bool
	baseSeq  uint16
	maxSeq   uint16
	cycles   uint32
	received uint32
	// at the last report, for the fraction lost
	expectedPrior, receivedPrior uint32
	jitter                       float64 // in timestamp units
	lastTransit                  int64
	// the caller's last sender report
	lsr     uint32
	lsrTime time.Time
}

// packet records one audio packet (RFC 3550 A.1 simplified: no probation).
func (r *recvStats) packet(ssrc uint32, seq uint16, ts uint32, arrival time.Time, clock int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started || ssrc != r.ssrc {
		// A new stream (or a new SSRC after a re-INVITE): start counting afresh.
		r.ssrc, r.started, r.baseSeq, r.maxSeq, r.cycles, r.received = ssrc, true, seq, seq, 0, 0
		r.expectedPrior, r.receivedPrior, r.jitter = 0, 0, 0
	} else if d := seq - r.maxSeq; d > 0 && d < 0x8000 {
		if seq < r.maxSeq {
			r.cycles += 1 << 16
		}
		r.maxSeq = seq
	}
	r.received++
	// Interarrival jitter in units of the codec's RTP clock (A.8).
	transit := arrival.UnixNano()*clock/int64(time.Second) - int64(ts)
	if r.received > 1 {
		d := float64(transit - r.lastTransit)
		if d < 0 {
			d = -d
		}
		r.jitter += (d - r.jitter) / 16
	}
	r.lastTransit = transit
}

// senderReport records the middle of the NTP time of the caller's SR.
func (r *recvStats) senderReport(ntp uint64, arrival time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lsr, r.lsrTime = uint32(ntp>>16), arrival
}

// block is the reception report on the caller's stream, or false before
// any packet arrived.
func (r *recvStats) block(now time.Time) (rtcp.ReceptionReport, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		return rtcp.ReceptionReport{}, false
	}
	ext := r.cycles + uint32(r.maxSeq)
	expected := ext - uint32(r.baseSeq) + 1
	lost := int64(expected) - int64(r.received)
	lost = max(min(lost, 0x7FFFFF), -0x800000)
	expInt, recvInt := expected-r.expectedPrior, r.received-r.receivedPrior
	r.expectedPrior, r.receivedPrior = expected, r.received
	var fraction uint8
	if expInt > 0 && expInt > recvInt {
		fraction = uint8((uint64(expInt-recvInt) << 8) / uint64(expInt))
	}
	rr := rtcp.ReceptionReport{SSRC: r.ssrc, FractionLost: fraction, TotalLost: uint32(lost) & 0xFFFFFF,
		LastSequenceNumber: ext, Jitter: uint32(r.jitter), LastSenderReport: r.lsr}
	if !r.lsrTime.IsZero() {
		rr.Delay = uint32(now.Sub(r.lsrTime) * 65536 / time.Second)
	}
	return rr, true
}

// ntpTime converts t to the 64-bit NTP format (RFC 3550 §4).
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

// attachRTCP starts reading the caller's RTCP on conn; Close stops it.
func (s *rtpSession) attachRTCP(conn *net.UDPConn) {
	s.rtcpConn = conn
	s.rtcpDone = make(chan struct{})
	go s.readRTCP()
}

// readRTCP is the one goroutine reading the RTCP socket: it notes the
// caller's sender reports and where its RTCP comes from.
func (s *rtpSession) readRTCP() {
	defer close(s.rtcpDone)
	buf := make([]byte, 1500)
	plain := make([]byte, 1500)
	for {
		n, from, err := s.rtcpConn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Debug("rtcp read ended", "error", err)
			}
			return
		}
		s.handleRTCP(buf[:n], plain, from)
	}
}

// handleRTCP takes one datagram from the RTCP port: SRTCP, the compound
// packet, the caller's address, sender reports. Anything else is dropped.
func (s *rtpSession) handleRTCP(data, plain []byte, from netip.AddrPort) {
	if k := s.keys.Load(); k != nil {
		var err error
		if data, err = k.decryptRTCP(plain[:0], data); err != nil {
			return // SRTCP that does not authenticate, or plain RTCP
		}
	}
	pkts, err := rtcp.Unmarshal(data)
	if err != nil {
		return
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if r := s.remote.Load(); r == nil || r.Addr() != from.Addr() {
		return // not from the caller's address: ignored like stray RTP
	}
	s.rtcpRemote.Store(&from)
	for _, p := range pkts {
		if sr, ok := p.(*rtcp.SenderReport); ok {
			s.stats.senderReport(sr.NTPTime, time.Now())
		}
	}
}

// sendRTCP sends a sender report (or a receiver report while we send
// nothing) with a reception report on the caller's stream and our CNAME,
// to where the caller's RTCP comes from, else to where its SDP's a=rtcp
// said (RFC 3605), else to its RTP port + 1 — or, multiplexed (RFC 5761),
// from our RTP socket to its RTP address.
func (s *rtpSession) sendRTCP(now time.Time) {
	conn := s.rtcpConn
	if conn == nil {
		return
	}
	m := s.media.Load()
	dst := s.rtcpRemote.Load()
	if m.RTCPMux {
		conn, dst = s.conn, s.remote.Load()
		if dst == nil {
			return
		}
	}
	if dst == nil && m.RTCP.IsValid() {
		d := m.RTCP
		dst = &d
	}
	if dst == nil {
		r := s.remote.Load()
		if r == nil {
			return
		}
		d := netip.AddrPortFrom(r.Addr(), r.Port()+1)
		dst = &d
	}
	var reports []rtcp.ReceptionReport
	if rr, ok := s.stats.block(now); ok {
		reports = append(reports, rr)
	}
	s.sendMu.Lock()
	ssrc, ts, packets, octets := s.ssrc, s.ts, s.sentPackets, s.sentOctets
	s.sendMu.Unlock()
	var first rtcp.Packet = &rtcp.ReceiverReport{SSRC: ssrc, Reports: reports}
	if packets > 0 {
		first = &rtcp.SenderReport{SSRC: ssrc, NTPTime: ntpTime(now), RTPTime: ts,
			PacketCount: packets, OctetCount: octets, Reports: reports}
	}
	sdes := &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: ssrc,
		Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: fmt.Sprintf("dialroom-%08x", ssrc)}}}}}
	b, err := rtcp.Marshal([]rtcp.Packet{first, sdes})
	if err != nil {
		return
	}
	if k := s.keys.Load(); k != nil {
		if b, err = k.encryptRTCP(nil, b); err != nil {
			return
		}
	}
	_, _ = conn.WriteToUDPAddrPort(b, *dst)
}
