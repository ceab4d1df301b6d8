package sip

import (
	"github.com/emiago/sipgo/sip"
)

// handleReInvite answers a re-INVITE in an established call: a session
// refresh, hold or resume, or a codec or address change (RFC 3261 §14.2).
// A re-INVITE without SDP gets our current SDP as the offer.
func (s *Server) handleReInvite(req *sip.Request, tx sip.ServerTransaction) {
	s.handleOffer(req, tx)
}

// handleUpdate answers UPDATE (RFC 3311): the same changes as a re-INVITE
// without the three-way handshake; an UPDATE without SDP only refreshes
// the session timer.
func (s *Server) handleUpdate(req *sip.Request, tx sip.ServerTransaction) {
	s.handleOffer(req, tx)
}

func (s *Server) handleOffer(req *sip.Request, tx sip.ServerTransaction) {
	ac := s.findCall(req)
	if ac == nil {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	if err := ac.dlg.ReadRequest(req, tx); err != nil {
		s.respond(req, tx, 500, "Server Internal Error", sip.NewHeader("Retry-After", "1"))
		return
	}
	body := req.Body()
	var sdp []byte
	if len(body) > 0 {
		m, err := negotiate(body, ac.srtpMode)
		if err != nil {
			// The call goes on with what it had (RFC 3261 §14.2).
			s.respond(req, tx, 488, "Not Acceptable Here")
			return
		}
		sdp = ac.renegotiate(m)
		s.log.Info("call media changed", "call", shortID(req.CallID().Value()),
			"direction", m.Dir.String(), "codec", m.Codec.String(), "srtp", srtpSuite(&m))
	} else if req.Method == sip.INVITE {
		sdp = ac.currentSDP() // our offer; the answer comes in the ACK
		ac.mu.Lock()
		ac.reoffered = req.CSeq().SeqNo
		ac.mu.Unlock()
	}
	select {
	case ac.refresh <- struct{}{}:
	default:
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", sdp)
	if sdp != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	res.AppendHeader(sip.HeaderClone(&ac.contact))
	for _, h := range sessionTimerHeaders(req, s.cfg.minSE) {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("in-dialog offer respond failed", "error", err)
	}
}

// renegotiate applies a new offer to the media and returns our answer,
// with a higher o= version when it differs from the last one.
func (ac *activeCall) renegotiate(m Media) []byte {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	if m.localKey != nil && ac.offer.localKey != nil && m.localKey.suite == ac.offer.localKey.suite {
		// Same suite: we keep our key, so our stream (and its rollover
		// counter) goes on unchanged (RFC 4568 §7.1.4 lets the answerer).
		m.localKey = ac.offer.localKey
	}
	ac.media.update(m)
	if m.Codec != ac.offer.Codec || m.PT != ac.offer.PT || m.EventPT != ac.offer.EventPT || m.eventClock != ac.offer.eventClock || m.Dir != ac.offer.Dir ||
		m.localKey != ac.offer.localKey || m.cryptoTag != ac.offer.cryptoTag {
		ac.sdpVer++
	}
	ac.offer = m
	ac.answer = Answer(m, ac.mediaIP, ac.media.Port(), ac.sessID, ac.sdpVer)
	return ac.answer
}

func (ac *activeCall) currentSDP() []byte {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	return ac.answer
}
