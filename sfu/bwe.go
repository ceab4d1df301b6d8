package sfu

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Bandwidth estimation per subscriber. Each PeerConnection gets pion's
// send-side estimator (Google Congestion Control, fed by the browser's
// transport-wide congestion control feedback) wrapped in a feedbackMeter
// that reads the same feedback (congestion.go). The allocator does not
// act on GCC's estimate: it only grows to 1.5 times what is sent, so it
// cannot say whether a larger layer fits, and it lags behind a cap. It
// keeps video under the ceiling of a controller (congestion_control.go)
// that acts on the feedback directly: loss, queuing delay and the
// acknowledged bitrate. A REMB from the browser caps the video too; GCC's
// estimate is only reported (Room.BandwidthEstimate).
const (
	initialBitrate = 2_000_000  // bit/s, the estimator's start
	minBitrate     = 100_000    // bit/s
	maxBitrate     = 50_000_000 // bit/s
)

// bandwidthEstimate is one subscriber's downlink estimate.
type bandwidthEstimate struct {
	gcc  cc.BandwidthEstimator // nil if the estimator could not be set up
	remb atomic.Int64          // the browser's latest REMB, bit/s; 0 if none
	// loss is the highest fraction lost (of 256) in the subscriber's
	// receiver reports for our video since the allocator last looked.
	loss atomic.Int32

	// Allocator goroutine only.
	ctl        controller
	signals    congestionSignals // the last interval's, for tests and debugging
	lastTotal  int               // bit/s of video chosen at the last allocation
	lastBudget int               // the last allocation's budget, to log changes
	rates      layerRates        // the layers' bitrates as the allocator counts them
}

// reportLoss records the fraction lost (of 256) of one receiver report block.
func (b *bandwidthEstimate) reportLoss(fraction uint8) {
	for {
		cur := b.loss.Load()
		if int32(fraction) <= cur || b.loss.CompareAndSwap(cur, int32(fraction)) {
			return
		}
	}
}

// estimate returns GCC's current estimate capped by REMB, in bit/s; 0 if unknown.
func (b *bandwidthEstimate) estimate() int {
	est := 0
	if b.gcc != nil {
		est = b.gcc.GetTargetBitrate()
	}
	if r := int(b.remb.Load()); r > 0 && (est == 0 || r < est) {
		est = r
	}
	return est
}

// meter returns the subscriber's TWCC feedback meter, nil if it has none.
func (b *bandwidthEstimate) meter() *feedbackMeter {
	if m, ok := b.gcc.(*meteredEstimator); ok {
		return m.meter
	}
	return nil
}

// budget returns the bit/s the allocator must keep video under, 0 for no
// limit. audio is the bit/s kept for audio, which a REMB includes.
func (b *bandwidthEstimate) budget(now time.Time, a allocation, audio int) int {
	rrLoss := int(b.loss.Swap(0))
	var s congestionSignals
	s.queue = -1
	m := b.meter()
	if m != nil {
		s = m.take(now)
	}
	b.signals = s
	ceiling, decreased := b.ctl.update(now, s, rrLoss, a)
	if decreased && m != nil {
		m.setMark(now.Add(decreaseSettle))
	}
	if r := int(b.remb.Load()); r > 0 {
		r = max(r-audio, 1)
		if ceiling == 0 || r < ceiling {
			ceiling = r
		}
	}
	return ceiling
}

// offerSimulcast adds to an SDP offer from the SFU the request to receive
// simulcast (RFC 8853) in the first recvonly video section, the one a
// browser publishes its camera on. pion does not offer simulcast itself; the
// browser answers with a=simulcast:send and sends each RID as its own stream.
func offerSimulcast(sdp string) string {
	lines := strings.SplitAfter(sdp, "\n")
	out := make([]string, 0, len(lines)+4)
	inVideo, done := false, false
	recvonly := false
	flush := func() {
		if inVideo && recvonly && !done {
			for _, rid := range layerRIDs {
				out = append(out, "a=rid:"+rid+" recv\r\n")
			}
			out = append(out, "a=simulcast:recv "+strings.Join(layerRIDs[:], ";")+"\r\n")
			done = true
		}
	}
	for _, l := range lines {
		t := strings.TrimRight(l, "\r\n")
		if strings.HasPrefix(t, "m=") {
			flush()
			inVideo, recvonly = strings.HasPrefix(t, "m=video"), false
		}
		if inVideo && (t == "a=recvonly") {
			recvonly = true
		}
		if inVideo && strings.HasPrefix(t, "a=simulcast:") {
			done = true
		}
		out = append(out, l)
	}
	flush()
	return strings.Join(out, "")
}

// estimatorCatcher hands the estimator that the cc interceptor builds inside
// NewPeerConnection to the code that called it (Manager.pcMu serialises).
type estimatorCatcher struct {
	mu   sync.Mutex
	last cc.BandwidthEstimator
}

func (c *estimatorCatcher) set(_ string, e cc.BandwidthEstimator) {
	c.mu.Lock()
	c.last = e
	c.mu.Unlock()
}

func (c *estimatorCatcher) take() cc.BandwidthEstimator {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.last
	c.last = nil
	return e
}

// registerEstimator adds the congestion controller and the TWCC header
// extension on outgoing video packets to reg.
func registerEstimator(me *webrtc.MediaEngine, reg *interceptor.Registry) (*estimatorCatcher, error) {
	f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		e, err := gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(initialBitrate),
			gcc.SendSideBWEMinBitrate(minBitrate), gcc.SendSideBWEMaxBitrate(maxBitrate),
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()))
		if err != nil {
			return nil, err
		}
		return &meteredEstimator{BandwidthEstimator: e, meter: newFeedbackMeter(time.Now())}, nil
	})
	if err != nil {
		return nil, err
	}
	c := &estimatorCatcher{}
	f.OnNewPeerConnection(c.set)
	reg.Add(videoOnly{f})
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI},
		webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	ext, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return nil, err
	}
	reg.Add(videoOnly{ext})
	reg.Add(stripAudioTWCC{})
	return c, nil
}
