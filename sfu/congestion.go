package sfu

import (
	"encoding/binary"
	"slices"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// Congestion signals from transport-wide congestion control feedback
// (draft-holmer-rmcat-transport-wide-cc-extensions-01). Every video packet
// the SFU sends to a subscriber carries a transport-wide sequence number;
// the subscriber reports which of them arrived and when. The feedbackMeter
// turns that into what the allocator decides on, the way GCC's loss- and
// delay-based controllers look at it (draft-ietf-rmcat-gcc-02):
//
//   - loss: the share of reported packets that did not arrive;
//   - queuing delay: each packet's one-way delay (receiver clock minus
//     sender clock, offset unknown) above the smallest seen recently; the
//     smallest queuing delay within an interval says whether a queue
//     stood in the line for the whole interval, and its change from one
//     interval to the next whether that queue grows or drains;
//   - the acknowledged bitrate: what reached the subscriber, per its own
//     arrival times, which under congestion is what the line carries.
//
// Loss and delay count only for packets sent after the last decrease took
// effect (mark), so feedback on what was sent before it does not cause a
// second decrease.

// meterRing is how many sent packets the meter remembers (a power of two):
// about 4 s of video at 2000 packets/s, far longer than feedback takes.
const meterRing = 8192

// baseBucket is how long each of the two buckets of the minimum one-way
// delay lasts: the base delay is the smallest seen in the last 10-20 s,
// long enough to outlast a standing queue the controller reacts to, short
// enough to follow a route change.
const baseBucket = 10 * time.Second

// Packet states in the meter's ring.
const (
	recFree = iota
	recSent
	recAcked
	recLost
)

// sentRecord is one video packet sent to the subscriber.
type sentRecord struct {
	at    int64 // departure, ns since the meter's epoch
	seq   uint16
	size  uint16 // bytes of RTP header and payload
	state uint8
}

// feedbackWindow is what the subscriber reported since the allocator last
// looked.
type feedbackWindow struct {
	reported, lost int   // packets sent after the mark that feedback covered, and of those not received
	ackedBytes     int   // bytes received (all packets, mark or not)
	firstArr       int64 // arrival of the first and last received packet, µs (receiver clock)
	lastArr        int64
	acked          int   // packets received (all)
	queueMin       int64 // smallest queuing delay of received packets sent after the mark, ns; -1 none
	queued         int   // packets queueMin was taken over
}

// feedbackMeter records the video packets sent to one subscriber and
// the subscriber's TWCC feedback on them. Safe for concurrent use: the
// packet writers and the RTCP readers feed it, the allocator takes from it.
type feedbackMeter struct {
	mu       sync.Mutex
	epoch    time.Time
	sent     [meterRing]sentRecord
	mark     int64 // ns since epoch; earlier packets do not count for loss and delay
	base     [2]int64
	baseAt   int64 // start of the current base bucket, ns since epoch
	haveBase [2]bool
	win      feedbackWindow
	sentB    int                          // bytes sent since the last take
	hist     [ackedWindows]feedbackWindow // the last intervals, for the acknowledged bitrate
	histN    int
	takenAt  int64 // ns since epoch of the last take
	feedback int   // feedback packets since the last take
	// Totals since the start, for the debug log.
	totalSent, totalAcked, totalLost, totalUnknown int
	// Retransmissions: the highest RTP sequence number sent per stream,
	// bytes of new packets since the last take, the allowance.
	highest    map[uint32]uint16
	newB       int
	rtxRate    int     // bit/s
	rtxTokens  float64 // bytes
	rtxAt      int64   // ns since epoch of the last refill
	rtxDropped int
}

func newFeedbackMeter(now time.Time) *feedbackMeter {
	m := &feedbackMeter{epoch: now}
	m.win.queueMin = -1
	return m
}

func (m *feedbackMeter) since(t time.Time) int64 { return int64(t.Sub(m.epoch)) }

// onSent records a packet with transport-wide sequence number seq.
func (m *feedbackMeter) onSent(seq uint16, size int, now time.Time) {
	at := m.since(now)
	m.mu.Lock()
	m.recordLocked(seq, size, at)
	m.mu.Unlock()
}

func (m *feedbackMeter) recordLocked(seq uint16, size int, at int64) {
	r := &m.sent[int(seq)%meterRing]
	*r = sentRecord{at: at, seq: seq, size: uint16(min(size, 0xffff)), state: recSent}
	m.sentB += size
	m.totalSent++
}

// Retransmissions (answers to the subscriber's NACKs) may add at most
// rtxShare of the new video sent, and rtxFloor in any case. Without a
// limit a line that drops packets gets NACKs for them, the answers add to
// the overload, more is dropped and NACKed: a thin line carried four
// times its rate in retransmissions and decoded nothing. libwebrtc limits
// its retransmissions the same way.
const (
	rtxShare = 25                     // percent
	rtxFloor = 40_000                 // bit/s
	rtxBurst = 250 * time.Millisecond // of the allowance that may be spent at once
)

// send records an outgoing video packet of stream ssrc with RTP sequence
// number rtpSeq (and transport-wide sequence number twcc if hasTWCC); it
// returns false for a retransmission over the allowance, which is not sent.
func (m *feedbackMeter) send(ssrc uint32, rtpSeq uint16, twcc uint16, hasTWCC bool, size int, now time.Time) bool {
	at := m.since(now)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.highest == nil {
		m.highest = map[uint32]uint16{}
	}
	last, ok := m.highest[ssrc]
	if !ok || rtpSeq != last && rtpSeq-last < 0x8000 {
		m.highest[ssrc] = rtpSeq
		m.newB += size
	} else {
		rate := float64(max(m.rtxRate, rtxFloor)) / 8 // bytes/s
		m.rtxTokens = min(m.rtxTokens+rate*float64(at-m.rtxAt)/1e9, rate*rtxBurst.Seconds())
		m.rtxAt = at
		if m.rtxTokens < float64(size) {
			m.rtxDropped++
			return false
		}
		m.rtxTokens -= float64(size)
	}
	if hasTWCC {
		m.recordLocked(twcc, size, at)
	}
	return true
}

// onFeedback reads one TWCC feedback packet. Malformed feedback (too few
// deltas, a count beyond the chunks) is read as far as it goes.
func (m *feedbackMeter) onFeedback(fb *rtcp.TransportLayerCC, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.feedback++
	seq := fb.BaseSequenceNumber
	arrival := int64(fb.ReferenceTime) * 64000 // µs
	remaining := int(fb.PacketStatusCount)
	deltas := fb.RecvDeltas
	status := func(s uint16) {
		if remaining <= 0 {
			return
		}
		remaining--
		if s == rtcp.TypeTCCPacketNotReceived {
			m.reportLocked(seq, false, 0)
		} else if s == rtcp.TypeTCCPacketReceivedSmallDelta || s == rtcp.TypeTCCPacketReceivedLargeDelta {
			if len(deltas) == 0 {
				remaining = 0 // inconsistent: stop here
				return
			}
			arrival += deltas[0].Delta
			deltas = deltas[1:]
			m.reportLocked(seq, true, arrival)
		}
		seq++
	}
	for _, c := range fb.PacketChunks {
		switch c := c.(type) {
		case *rtcp.RunLengthChunk:
			for i := 0; i < int(c.RunLength) && remaining > 0; i++ {
				status(c.PacketStatusSymbol)
			}
		case *rtcp.StatusVectorChunk:
			for _, s := range c.SymbolList {
				status(s)
			}
		}
		if remaining <= 0 {
			break
		}
	}
	m.rotateBaseLocked(m.since(now))
}

// reportLocked records the subscriber's report on packet seq.
func (m *feedbackMeter) reportLocked(seq uint16, received bool, arrival int64) {
	r := &m.sent[int(seq)%meterRing]
	if r.seq != seq || r.state == recFree || r.state == recAcked {
		m.totalUnknown++
		return // not ours, too old, or already counted
	}
	if received {
		m.totalAcked++
	} else if r.state == recSent {
		m.totalLost++
	}
	counts := r.at >= m.mark
	if !received {
		if r.state == recSent && counts {
			m.win.reported++
			m.win.lost++
		}
		r.state = recLost
		return
	}
	if r.state == recLost && counts && m.win.lost > 0 {
		m.win.lost-- // reported lost before, arrived late
		m.win.reported--
	}
	r.state = recAcked
	w := &m.win
	if w.acked == 0 || arrival < w.firstArr {
		w.firstArr = arrival
	}
	if w.acked == 0 || arrival > w.lastArr {
		w.lastArr = arrival
	}
	w.acked++
	w.ackedBytes += int(r.size)
	delay := arrival*1000 - r.at
	for i := range m.base {
		if !m.haveBase[i] || delay < m.base[i] {
			m.base[i], m.haveBase[i] = delay, true
		}
	}
	if !counts {
		return
	}
	w.reported++
	q := delay - min(m.base[0], m.base[1])
	if w.queueMin < 0 || q < w.queueMin {
		w.queueMin = q
	}
	w.queued++
}

// rotateBaseLocked starts a new bucket of the base delay every baseBucket.
func (m *feedbackMeter) rotateBaseLocked(now int64) {
	if now-m.baseAt < int64(baseBucket) {
		return
	}
	m.baseAt = now
	m.base[0], m.haveBase[0] = m.base[1], m.haveBase[1]
	m.haveBase[1] = false
}

// setMark makes loss and delay count only for packets sent from at on.
func (m *feedbackMeter) setMark(at time.Time) {
	m.mu.Lock()
	m.mark = max(m.mark, m.since(at))
	m.mu.Unlock()
}

// congestionSignals is one allocation interval's view of the line.
type congestionSignals struct {
	feedback   bool          // TWCC feedback arrived in the interval
	reported   int           // packets sent after the mark that the feedback covered
	lost       int           // of those, not received
	queue      time.Duration // smallest queuing delay of them; -1 if fewer than minReported arrived
	acked      int           // bit/s received over the last ackedWindows intervals, by the subscriber's clock; 0 if unknown
	ackedSpan  time.Duration // the arrival span acked was measured over
	ackedCount int           // packets acked was measured over
	sent       int           // bit/s of video sent in the interval
}

// minReported is how many packets must be reported in an interval for its
// queuing delay to count, and in the last two intervals for their loss
// to count (with at least minLost lost): one lost or late packet of a
// few is no evidence.
const (
	minReported = 10
	minLost     = 3
)

// take returns the signals since the last take and starts a new interval.
func (m *feedbackMeter) take(now time.Time) congestionSignals {
	t := m.since(now)
	m.mu.Lock()
	w := m.win
	sentB, fb, dt := m.sentB, m.feedback, t-m.takenAt
	if dt > 0 {
		newBps := int(int64(m.newB) * 8 * int64(time.Second) / dt)
		m.rtxRate += (newBps*rtxShare/100 - m.rtxRate) / 2
	}
	m.win = feedbackWindow{queueMin: -1}
	m.sentB, m.feedback, m.takenAt, m.newB = 0, 0, t, 0
	m.mu.Unlock()
	s := congestionSignals{feedback: fb > 0, reported: w.reported, lost: w.lost, queue: -1}
	if w.queued >= minReported {
		s.queue = time.Duration(w.queueMin)
	}
	if dt > 0 {
		s.sent = int(int64(sentB) * 8 * int64(time.Second) / dt)
	}
	s.acked, s.ackedSpan, s.ackedCount = m.ackedRate(w)
	return s
}

// ackedWindows is how many intervals the acknowledged bitrate is measured
// over (about 1.5 s): one interval of bursty video says little.
const ackedWindows = 3

// ackedRate adds interval w to the history and returns the bitrate the
// subscriber received over the history (0 if unknown), and the arrival
// span and number of packets it was measured over.
func (m *feedbackMeter) ackedRate(w feedbackWindow) (int, time.Duration, int) {
	copy(m.hist[1:], m.hist[:ackedWindows-1])
	m.hist[0] = w
	m.histN = min(m.histN+1, ackedWindows)
	var bytes, n int
	var first, last int64
	for _, h := range m.hist[:m.histN] {
		if h.acked == 0 {
			continue
		}
		if n == 0 || h.firstArr < first {
			first = h.firstArr
		}
		if n == 0 || h.lastArr > last {
			last = h.lastArr
		}
		bytes += h.ackedBytes
		n += h.acked
	}
	span := last - first
	if n < 2 || span <= 0 {
		return 0, 0, n
	}
	// n packets arrive over the span between the first and the last:
	// the first one's bytes came before it.
	return int(int64(bytes) * 8 * 1_000_000 / span * int64(n-1) / int64(n)), time.Duration(span) * time.Microsecond, n
}

// twccExtensionID returns the ID of the transport-wide sequence number
// header extension negotiated for a stream, 0 if none.
func twccExtensionID(info *interceptor.StreamInfo) uint8 {
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI && e.ID > 0 && e.ID < 256 {
			return uint8(e.ID)
		}
	}
	return 0
}

// meteredEstimator is a bandwidth estimator (pion's GCC) with a
// feedbackMeter on the same packets and feedback. The cc interceptor
// calls it; the allocator reads the meter.
type meteredEstimator struct {
	cc.BandwidthEstimator
	meter *feedbackMeter
}

// AddStream records each packet's transport-wide sequence number, size and
// departure before GCC sees it, and holds back retransmissions over their
// allowance.
func (e *meteredEstimator) AddStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	next := e.BandwidthEstimator.AddStream(info, w)
	id := twccExtensionID(info)
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		var twcc uint16
		ext := h.GetExtension(id)
		if id != 0 && len(ext) >= 2 {
			twcc = binary.BigEndian.Uint16(ext)
		}
		size := h.MarshalSize() + len(payload)
		if !e.meter.send(h.SSRC, h.SequenceNumber, twcc, len(ext) >= 2, size, time.Now()) {
			return size, nil // dropped like a packet the line would have lost
		}
		return next.Write(h, payload, a)
	})
}

// WriteRTCP reads the TWCC feedback, then hands everything to GCC.
func (e *meteredEstimator) WriteRTCP(pkts []rtcp.Packet, a interceptor.Attributes) error {
	for _, p := range pkts {
		if fb, ok := p.(*rtcp.TransportLayerCC); ok {
			e.meter.onFeedback(fb, time.Now())
		}
	}
	return e.BandwidthEstimator.WriteRTCP(pkts, a)
}

// totals returns the packets sent, acknowledged, reported lost and
// reported but unknown, and the retransmissions held back, since the start.
func (m *feedbackMeter) totals() [5]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return [5]int{m.totalSent, m.totalAcked, m.totalLost, m.totalUnknown, m.rtxDropped}
}

// stripAudioTWCC removes the transport-wide sequence number from outgoing
// audio. Forwarded audio keeps its publisher's header extensions (the audio
// level), and with them the sequence number of the publisher's own session,
// under the ID that the subscriber's session gives its transport-wide
// sequence number: the subscriber would report on a second, foreign
// sequence space, and the feedback on the SFU's video would be garbage.
// The SFU numbers only video (see videoOnly).
type stripAudioTWCC struct{}

func (stripAudioTWCC) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &stripAudioTWCCInterceptor{}, nil
}

type stripAudioTWCCInterceptor struct{ interceptor.NoOp }

func (*stripAudioTWCCInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	id := twccExtensionID(info)
	if !isAudio(info) || id == 0 {
		return w
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		withoutExtension(h, id)
		return w.Write(h, payload, a)
	})
}

// withoutExtension removes extension id from h. h is the sender's copy of
// the header, shared by the subscribers of one write, but its extensions
// share their array with the packet that was read (and handed to audio
// sinks): that array is copied, not written. Only the first subscriber of
// a packet pays for the copy.
func withoutExtension(h *rtp.Header, id uint8) {
	if h.GetExtension(id) == nil {
		return
	}
	h.Extensions = slices.Clone(h.Extensions)
	_ = h.DelExtension(id)
}
