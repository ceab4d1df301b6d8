package sfu

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// The interceptors every PeerConnection runs, chosen for a server that
// forwards N² streams:
//
//   - NACK generator on what browsers send (video only: Opus has no nack
//     feedback). There is no NACK responder: it would keep a copy of the
//     last packets of every outgoing stream. Subscribers' NACKs are answered
//     from one packet cache per published layer instead (cache.go).
//   - RTCP sender and receiver reports (browsers need sender reports for
//     lip sync): pion's for video and for what browsers send, our own
//     cheaper ones for the audio the SFU sends (audioReports).
//   - The simulcast header extensions (mid, rid).
//   - TWCC feedback on what browsers send, for their own estimators.
//
// pion's statistics interceptor is left out (nothing reads it), and the
// bandwidth estimator sees video only (see videoOnly).
func registerInterceptors(me *webrtc.MediaEngine, reg *interceptor.Registry) error {
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return err
	}
	reg.Add(gen)
	receiver, err := report.NewReceiverInterceptor()
	if err != nil {
		return err
	}
	sender, err := report.NewSenderInterceptor()
	if err != nil {
		return err
	}
	reg.Add(receiver)
	reg.Add(videoOnly{sender})
	reg.Add(audioReports{})
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return err
	}
	return webrtc.ConfigureTWCCSender(me, reg)
}

// videoOnly wraps an interceptor factory so that its interceptors leave
// outgoing audio alone. The transport-wide sequence number and the
// estimator's per-packet bookkeeping would cost more than forwarding the
// packet itself, and audio needs neither: the allocator reserves a fixed
// rate for it (audioRate) and never pauses it for bandwidth.
type videoOnly struct{ interceptor.Factory }

func (v videoOnly) NewInterceptor(id string) (interceptor.Interceptor, error) {
	i, err := v.Factory.NewInterceptor(id)
	if err != nil {
		return nil, err
	}
	return &videoOnlyInterceptor{Interceptor: i}, nil
}

type videoOnlyInterceptor struct{ interceptor.Interceptor }

func (v *videoOnlyInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if isAudio(info) {
		return w
	}
	return v.Interceptor.BindLocalStream(info, w)
}

func (v *videoOnlyInterceptor) UnbindLocalStream(info *interceptor.StreamInfo) {
	if isAudio(info) {
		return
	}
	v.Interceptor.UnbindLocalStream(info)
}

func isAudio(info *interceptor.StreamInfo) bool {
	return strings.HasPrefix(strings.ToLower(info.MimeType), "audio/")
}

// audioReports makes the RTCP sender reports of the audio a PeerConnection
// sends. pion's sender report interceptor reads the clock and takes a lock
// for every packet, and sends each stream's report in a datagram of its
// own; audio is most of the packets an SFU sends (N−1 streams per
// subscriber without last-N), so here a packet costs two atomic additions,
// the clock is read once every reportSample packets, and a
// PeerConnection's reports go out together, reportsPerPacket to a
// compound RTCP packet, once every reportInterval.
type audioReports struct{}

// reportInterval is how often each audio stream's sender report is sent.
const reportInterval = time.Second

// reportSample is how many packets apart a stream notes when it sent a
// packet with which RTP timestamp, the pair a report extrapolates from.
// The publisher's RTP clock runs at wall-clock speed, DTX pauses
// included, so an older pair serves as well as the newest one; its error
// is the network jitter of its packet either way.
const reportSample = 16

// reportsPerPacket bounds a compound RTCP packet of sender reports (28
// bytes each) well below the path MTU.
const reportsPerPacket = 32

func (audioReports) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &audioReportsInterceptor{streams: map[uint32]*audioReportStream{}, close: make(chan struct{})}, nil
}

type audioReportsInterceptor struct {
	interceptor.NoOp
	mu      sync.Mutex
	streams map[uint32]*audioReportStream // by SSRC
	started bool
	closed  bool
	close   chan struct{}
	wg      sync.WaitGroup
}

// audioReportStream counts one outgoing audio stream.
type audioReportStream struct {
	ssrc      uint32
	clockRate float64
	packets   atomic.Uint32
	octets    atomic.Uint32

	mu sync.Mutex // guards the sampled pair
	ts uint32     // RTP timestamp of a recent packet
	at time.Time  // when it was sent
}

func (a *audioReportsInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if !isAudio(info) {
		return w
	}
	st := &audioReportStream{ssrc: info.SSRC, clockRate: float64(info.ClockRate)}
	a.mu.Lock()
	a.streams[info.SSRC] = st
	a.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, attr interceptor.Attributes) (int, error) {
		st.sent(h.Timestamp, len(payload))
		return w.Write(h, payload, attr)
	})
}

// sent counts a packet with timestamp ts and n payload octets.
func (st *audioReportStream) sent(ts uint32, n int) {
	st.octets.Add(uint32(n))
	if st.packets.Add(1)%reportSample == 1 {
		now := time.Now()
		st.mu.Lock()
		st.ts, st.at = ts, now
		st.mu.Unlock()
	}
}

// report returns the stream's sender report at now; ok is false before
// its first packet.
func (st *audioReportStream) report(now time.Time) (sr rtcp.SenderReport, ok bool) {
	packets := st.packets.Load()
	if packets == 0 {
		return sr, false
	}
	st.mu.Lock()
	ts, at := st.ts, st.at
	st.mu.Unlock()
	if at.IsZero() {
		return sr, false // the first packet is counted, its time not yet stored
	}
	return rtcp.SenderReport{
		SSRC:        st.ssrc,
		NTPTime:     ntpTime(now),
		RTPTime:     ts + uint32(int64(now.Sub(at).Seconds()*st.clockRate)),
		PacketCount: packets,
		OctetCount:  st.octets.Load(),
	}, true
}

func (a *audioReportsInterceptor) UnbindLocalStream(info *interceptor.StreamInfo) {
	a.mu.Lock()
	delete(a.streams, info.SSRC)
	a.mu.Unlock()
}

func (a *audioReportsInterceptor) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.started && !a.closed {
		a.started = true
		a.wg.Add(1)
		go a.loop(w)
	}
	return w
}

func (a *audioReportsInterceptor) Close() error {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.close)
	}
	a.mu.Unlock()
	a.wg.Wait()
	return nil
}

// loop sends every stream's report once per reportInterval until Close.
func (a *audioReportsInterceptor) loop(w interceptor.RTCPWriter) {
	defer a.wg.Done()
	tick := time.NewTicker(reportInterval)
	defer tick.Stop()
	var streams []*audioReportStream
	var reports []rtcp.SenderReport
	var pkts []rtcp.Packet
	for {
		select {
		case <-a.close:
			return
		case <-tick.C:
		}
		a.mu.Lock()
		streams = streams[:0]
		for _, st := range a.streams {
			streams = append(streams, st)
		}
		a.mu.Unlock()
		now := time.Now()
		reports = reports[:0]
		for _, st := range streams {
			if sr, ok := st.report(now); ok {
				reports = append(reports, sr)
			}
		}
		for from := 0; from < len(reports); from += reportsPerPacket {
			pkts = pkts[:0]
			for i := from; i < min(len(reports), from+reportsPerPacket); i++ {
				pkts = append(pkts, &reports[i])
			}
			// A write fails only once the PeerConnection is closing.
			_, _ = w.Write(pkts, interceptor.Attributes{})
		}
	}
}

// ntpTime is t as a 64-bit NTP timestamp (RFC 5905): seconds since 1900
// in the upper 32 bits, the fraction in the lower.
func ntpTime(t time.Time) uint64 {
	const unixToNTP = 2208988800
	secs := uint64(t.Unix() + unixToNTP)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}
