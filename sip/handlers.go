package sip

import (
	"context"
	"errors"
	"fmt"

	"github.com/emiago/sipgo/sip"

	"dialroom/dialplan"
)

// allowed is our Allow header value (RFC 3261 §20.5).
const allowed = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE"

// checked rejects requests that lack a required header with 400 before they
// reach h; an ACK cannot be answered and is dropped.
func (s *Server) checked(h func(*sip.Request, sip.ServerTransaction)) func(*sip.Request, sip.ServerTransaction) {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if name := missingHeader(req); name != "" {
			if !req.IsAck() {
				s.respond(req, tx, 400, "Bad Request (missing or invalid "+name+")")
			}
			s.log.Debug("request rejected", "method", string(req.Method), "header", name)
			return
		}
		h(req, tx)
	}
}

func (s *Server) respond(req *sip.Request, tx sip.ServerTransaction, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("respond failed", "code", code, "error", err)
	}
}

// handleOptions answers keep-alives and capability queries from trunks
// (RFC 3261 §11); unknown sources are refused like their INVITEs.
func (s *Server) handleOptions(req *sip.Request, tx sip.ServerTransaction) {
	if _, ok := s.trunks.bySource(sourceAddr(req)); !ok && !s.trunks.hasDigestOnly() {
		s.refuse(req, tx)
		return
	}
	s.respond(req, tx, 200, "OK", sip.NewHeader("Allow", allowed), sip.NewHeader("Accept", "application/sdp"))
}

func (s *Server) handleOther(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(req, tx, 405, "Method Not Allowed", sip.NewHeader("Allow", allowed))
}

// handleCancel only sees a CANCEL that matched no INVITE transaction (the
// transaction layer answers the others with 200 and the INVITE with 487).
func (s *Server) handleCancel(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
}

func (s *Server) handleAck(req *sip.Request, tx sip.ServerTransaction) {
	if ac := s.findCall(req); ac != nil {
		ac.setAckBody(req.Body(), req.CSeq().SeqNo)
		_ = ac.dlg.ReadAck(req, tx)
	}
}

func (s *Server) handleBye(req *sip.Request, tx sip.ServerTransaction) {
	ac := s.findCall(req)
	if ac == nil {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	if err := ac.dlg.ReadBye(req, tx); err != nil {
		s.respond(req, tx, 500, "Server Internal Error")
	}
}

// handleInvite runs in the INVITE transaction's goroutine and, once the call
// is answered, stays there for the whole call.
func (s *Server) handleInvite(req *sip.Request, tx sip.ServerTransaction) {
	if tag, ok := req.To().Params.Get("tag"); ok && tag != "" {
		s.handleReInvite(req, tx)
		return
	}
	if s.refuseDraining(req, tx) {
		return
	}
	trunk, ok := s.admit(req, tx)
	if !ok {
		return
	}
	if !s.acquire(trunk) {
		s.log.Info("call rejected: concurrent call limit", "trunk", trunk.Name)
		s.respond(req, tx, 503, "Service Unavailable", sip.NewHeader("Retry-After", "30"))
		return
	}
	defer s.release(trunk)
	s.respond(req, tx, 100, "Trying")
	label := s.mask(callerNumber(req))
	log := s.log.With("call", shortID(req.CallID().Value()), "caller", label, "trunk", trunk.Name)
	route, err := s.lookupRoute(req, tx)
	switch {
	case errors.Is(err, dialplan.ErrNotFound), errors.Is(err, dialplan.ErrInvalid):
		log.Info("call rejected: number not assigned")
		s.respond(req, tx, 404, "Not Found")
		return
	case errors.Is(err, context.Canceled):
		if s.ctx.Err() != nil {
			s.respond(req, tx, 503, "Service Unavailable")
		}
		log.Info("call cancelled before answer")
		return
	case err != nil:
		log.Warn("room lookup failed", "error", err)
		s.respond(req, tx, 500, "Server Internal Error")
		return
	}
	if _, tooSmall := parseSessionTimer(req, s.cfg.minSE); tooSmall {
		s.respond(req, tx, 422, "Session Interval Too Small", sip.NewHeader("Min-SE", fmt.Sprint(s.cfg.minSE)))
		return
	}
	media, err := negotiate(req.Body(), trunk.SRTP)
	if len(req.Body()) == 0 {
		media, err = lateOfferMedia(trunk.SRTP), nil // late offer: we offer in the 200, the ACK answers
	}
	if err != nil {
		log.Info("call rejected: no common codec", "error", err)
		s.respond(req, tx, 488, "Not Acceptable Here")
		return
	}
	guard := s.pinGuardFor(req, trunk)
	if _, locked := guard.check(); locked && (route.Room.HasPIN() || route.Number.Shared) {
		log.Info("call rejected: caller locked out after failed PIN entries")
		s.respond(req, tx, 403, "Forbidden")
		return
	}
	if route.Number.Shared {
		log = log.With("shared_number", true)
	} else {
		log = log.With("room", route.Room.Slug)
	}
	s.answer(s.ctx, req, tx, route, media, log, label, guard, trunk)
}

// lookupRoute asks the RoomFinder where the dialled number leads. The lookup
// is cancelled when the INVITE transaction ends (CANCEL) or the server
// closes. Only the lookup: after a 2xx the transaction ends by itself
// (RFC 6026 Timer L) while the call goes on.
func (s *Server) lookupRoute(req *sip.Request, tx sip.ServerTransaction) (dialplan.Route, error) {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-tx.Done():
			cancel()
		case <-stop:
		}
	}()
	route, err := s.rooms.RouteNumber(ctx, dialledNumber(req))
	if err != nil && ctx.Err() != nil {
		return route, context.Canceled
	}
	return route, err
}
