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

// Bandwidth estimation per subscriber. Each PeerConnection gets a
// send-side estimator (Google Congestion Control from pion/interceptor,
// fed by the browser's transport-wide congestion control feedback); a REMB
// from the browser, when it sends one, caps it too.
//
// The estimate only grows to 1.5 times what is actually sent, so it cannot
// say whether a larger layer would fit. The allocator therefore treats it
// as a limit only while it is clearly below the rate being sent, or while
// the subscriber reports loss (congestion). Then it keeps video under a
// ceiling: the estimate at the congestion, for congestionHold; after that
// the ceiling doubles, one step at a time, each step a probe of at most
// probeTime. A probe fails when the subscriber reports loss: the ceiling
// falls back and the next hold is twice as long (up to maxHold); it
// succeeds once the estimate has caught up with what is sent. A ceiling
// far above what the tiles ask for is dropped.
const (
	initialBitrate = 2_000_000  // bit/s, the estimator's start
	minBitrate     = 100_000    // bit/s
	maxBitrate     = 50_000_000 // bit/s
	congestionHold = 10 * time.Second
	maxHold        = 60 * time.Second
	probeTime      = 15 * time.Second
	stepPause      = 3 * time.Second // between a successful probe and the next step
	lossCongested  = 26              // fraction lost (of 256) in a receiver report that counts as congestion (~10 %)
)

// bandwidthEstimate is one subscriber's downlink estimate.
type bandwidthEstimate struct {
	gcc  cc.BandwidthEstimator // nil if the estimator could not be set up
	remb atomic.Int64          // the browser's latest REMB, bit/s; 0 if none
	// loss is the highest fraction lost (of 256) in the subscriber's
	// receiver reports for our video since the allocator last looked.
	loss atomic.Int32

	// Allocator goroutine only.
	ceiling    int       // bit/s video is kept under; 0: no limit
	holdUntil  time.Time // no step up before this
	hold       time.Duration
	probeUntil time.Time // a step up is being tried until then
	lastTotal  int       // bit/s of video chosen at the last allocation
	lastWant   int       // bit/s the tiles asked for at the last allocation
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

// estimate returns the current estimate in bit/s, 0 if unknown.
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

// budget returns the bit/s the allocator must keep video under, 0 for no limit.
func (b *bandwidthEstimate) budget(now time.Time) int {
	lossy := b.loss.Swap(0) >= lossCongested
	est := b.estimate()
	if est <= 0 && !lossy {
		return 0
	}
	probing := now.Before(b.probeUntil)
	caughtUp := est >= b.lastTotal*85/100
	if b.lastTotal > 0 && (lossy || !caughtUp && !probing) {
		// Congestion: keep under what the estimator says the line takes,
		// and under what was sent (the estimator may lag behind the loss).
		c := est
		if lossy && (c <= 0 || c > b.lastTotal*85/100) {
			c = b.lastTotal * 85 / 100
		}
		switch {
		case probing:
			b.hold = min(2*b.hold, maxHold)
		case b.hold == 0:
			b.hold = congestionHold
		}
		// At most halve what is sent per congestion: the estimator can fall
		// to its floor on a burst of loss, which would pause all video on a
		// line that still takes the lowest layer.
		b.ceiling = max(c, b.lastTotal/2, minBitrate)
		b.holdUntil, b.probeUntil = now.Add(b.hold), time.Time{}
		return b.ceiling
	}
	if b.ceiling == 0 {
		return 0
	}
	if probing {
		if !caughtUp {
			return b.ceiling
		}
		// The step held: the estimator has caught up without loss.
		b.probeUntil, b.hold = time.Time{}, congestionHold
		b.holdUntil = now.Add(stepPause)
	}
	if now.Before(b.holdUntil) {
		return b.ceiling
	}
	if b.ceiling >= b.lastWant {
		// The tiles ask for less than the ceiling allows: no limit.
		b.ceiling, b.hold = 0, 0
		return 0
	}
	b.ceiling = min(2*b.ceiling, maxBitrate)
	b.probeUntil = now.Add(probeTime)
	return b.ceiling
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
		return gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(initialBitrate),
			gcc.SendSideBWEMinBitrate(minBitrate), gcc.SendSideBWEMaxBitrate(maxBitrate),
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()))
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
	return c, nil
}
