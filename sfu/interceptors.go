package sfu

import (
	"strings"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
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
//     lip sync).
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
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return err
	}
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
