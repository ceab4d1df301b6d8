package sip

import (
	"context"
	"log/slog"

	"github.com/emiago/sipgo"
)

// lateOfferEventPT is the telephone-event payload type of our own offers.
const lateOfferEventPT = 101

// lateOfferMedia is what we offer in the 200 to an INVITE without SDP
// (RFC 3261 §13.2.1, RFC 3264): G.722, Opus, PCMU, PCMA (offerFormats)
// and RFC 4733 events, as RTP/SAVP with our key when the trunk requires
// SRTP. The caller's answer arrives in the ACK and picks the codec.
func lateOfferMedia(mode SRTPMode) Media {
	m := Media{Codec: G722, PT: 9, EventPT: lateOfferEventPT, ourOffer: true}
	if mode == SRTPRequired {
		m.proto, m.cryptoTag, m.localKey = "RTP/SAVP", 1, newSDESKey(sdesSuites[0])
	}
	return m
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
	ours := ac.answer
	ac.mu.Unlock()
	if !reoffer {
		return
	}
	// The answer may change direction, address, the caller's key, and the
	// codec among those our offer listed.
	if m, err := negotiateAnswer(b, ac.srtpMode); err == nil && listsCodec(ours, m.Codec, m.PT) && answersCrypto(ac.offer, m) {
		ac.renegotiate(m)
	}
}

// takeLateAnswer applies the ACK's SDP answer to the call's media and
// reports whether it was usable: it must pick a codec we offered, under
// our payload type (Opus: any; RFC 3264 §6.1 only says SHOULD).
func (ac *activeCall) takeLateAnswer() bool {
	ac.mu.Lock()
	body, ours := ac.ackBody, ac.answer
	ac.mu.Unlock()
	m, err := negotiateAnswer(body, ac.srtpMode)
	if err != nil || !listsCodec(ours, m.Codec, m.PT) || !answersCrypto(ac.offer, m) {
		return false
	}
	m.localKey = ac.offer.localKey // what we offered stays our key
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

// answersCrypto reports whether answer fits the SRTP of our offer: plain
// for a plain offer; for an RTP/SAVP offer, the caller's key for our
// suite under our tag (RFC 4568 §7.1.2).
func answersCrypto(offer, answer Media) bool {
	if offer.localKey == nil || answer.remoteKey == nil {
		return offer.localKey == nil && answer.remoteKey == nil
	}
	return answer.remoteKey.suite == offer.localKey.suite && answer.cryptoTag == offer.cryptoTag
}
