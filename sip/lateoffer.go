package sip

import (
	"context"
	"log/slog"

	"github.com/emiago/sipgo"
)

// lateOfferEventPT is the telephone-event payload type of our own offers.
const lateOfferEventPT = 101

// lateOfferMedia is what we offer in the 200 to an INVITE without SDP
// (RFC 3261 §13.2.1, RFC 3264): PCMU and RFC 4733 events. The caller's
// answer arrives in the ACK.
func lateOfferMedia() Media {
	return Media{Codec: PCMU, PT: 0, EventPT: lateOfferEventPT}
}

// setAckBody keeps the SDP answer of a late-offer ACK for takeLateAnswer,
// or applies the answer to our offer in a re-INVITE without SDP.
func (ac *activeCall) setAckBody(b []byte, cseq uint32) {
	if len(b) == 0 {
		return
	}
	ac.mu.Lock()
	if ac.lateOffer && ac.ackBody == nil {
		ac.ackBody = b
		ac.mu.Unlock()
		return
	}
	reoffer := ac.reoffered != 0 && ac.reoffered == cseq
	if reoffer {
		ac.reoffered = 0
	}
	ac.mu.Unlock()
	if !reoffer {
		return
	}
	if m, err := Negotiate(b); err == nil && m.Codec == ac.offer.Codec {
		ac.renegotiate(m) // an answer changes direction or address, never our codec
	}
}

// takeLateAnswer applies the ACK's SDP answer to the call's media and
// reports whether it was usable: it must pick a codec we offered.
func (ac *activeCall) takeLateAnswer() bool {
	ac.mu.Lock()
	body := ac.ackBody
	ac.mu.Unlock()
	m, err := Negotiate(body)
	if err != nil || m.Codec != PCMU || m.PT != 0 {
		return false
	}
	// m.EventPT is the answer's telephone-event number, -1 when it declined
	// the events (keys then arrive in-band or in INFO). RFC 3264 §6.1 only
	// says SHOULD about reusing our number, and some peers renumber.
	ac.media.update(m)
	ac.mu.Lock()
	ac.offer = m
	ac.mu.Unlock()
	return true
}

// hangupNow ends a dialog that never became a call.
func (s *Server) hangupNow(dlg *sipgo.DialogServerSession, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := dlg.Bye(ctx); err != nil {
		log.Info("bye failed", "error", err)
	}
}
