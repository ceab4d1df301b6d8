package sip

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"

	"dialroom/dialplan"
)

// answer opens the RTP session, sends 200 OK with the SDP answer, waits for
// the ACK and then runs the call until it ends.
func (s *Server) answer(ctx context.Context, req *sip.Request, tx sip.ServerTransaction,
	route dialplan.Route, media Media, log *slog.Logger, label string, guard *pinGuard, trunk Trunk) {
	local, err := s.localIP(req)
	if err != nil {
		log.Warn("no local address for the call", "error", err)
		s.respond(req, tx, 500, "Server Internal Error")
		return
	}
	mediaIP := local
	if s.mediaIP.IsValid() {
		mediaIP = s.mediaIP
	}
	conn, rtcpConn, err := listenRTPPair(s.listenIP(), s.cfg.RTPPortMin, s.cfg.RTPPortMax)
	if err != nil {
		log.Warn("no rtp port", "error", err)
		s.respond(req, tx, 503, "Service Unavailable")
		return
	}
	lateOffer := len(req.Body()) == 0
	rtpSess := newRTPSession(conn, media, log)
	rtpSess.attachRTCP(rtcpConn)
	dlg, err := s.dialogs.ReadInvite(req, tx)
	if err != nil {
		_ = rtpSess.Close()
		log.Info("call ended before answer", "error", err)
		return
	}
	defer dlg.Close()
	sessID := rand.Uint64() >> 2
	answer := Answer(media, mediaIP, rtpSess.Port(), sessID, sessID)
	contact := s.contactFor(req, local)
	ac := &activeCall{dlg: dlg, contact: contact, infoDigits: make(chan byte, 32), media: rtpSess,
		mediaIP: mediaIP, sessID: sessID, refresh: make(chan struct{}, 1),
		answer: answer, sdpVer: sessID, offer: media, lateOffer: lateOffer, srtpMode: trunk.SRTP}
	if !s.addCall(dlg.ID, ac) {
		_ = rtpSess.Close()
		s.respond(req, tx, 503, "Service Unavailable")
		return
	}
	defer s.removeCall(dlg.ID)
	st, _ := parseSessionTimer(req, s.cfg.minSE) // too small ones got 422 in handleInvite
	hdrs := append([]sip.Header{sip.NewHeader("Content-Type", "application/sdp"), &contact}, st.headers()...)
	// Respond blocks until the ACK arrives (RFC 3261 §13.3.1.4).
	if err := dlg.Respond(200, "OK", answer, hdrs...); err != nil {
		_ = rtpSess.Close()
		log.Info("call ended before ack", "error", err)
		return
	}
	if lateOffer && !ac.takeLateAnswer() {
		_ = rtpSess.Close()
		log.Info("call ended: no usable answer in the ack")
		s.hangupNow(dlg, log)
		return
	}
	log.Info("call answered", "codec", rtpSess.media.Load().Codec.String(), "late_offer", lateOffer,
		"transport", strings.ToUpper(req.Transport()), "srtp", srtpSuite(rtpSess.media.Load()))
	room := route.Room
	if route.Number.Shared {
		room = dialplan.Room{Lang: route.Number.Lang} // until the caller types a dial-in code
	}
	c := &call{log: log, dlg: dlg, media: rtpSess, room: room, label: label, number: callerNumber(req), ivr: s.newIVR(route, s.codeLookup(ctx, log)),
		bridge: s.bridge, prompts: s.prompts, timeout: s.cfg.RTPTimeout, infoDigits: ac.infoDigits,
		laddr: sip.Addr{IP: s.UDPAddr().IP, Port: s.UDPAddr().Port}, contact: contact, drainC: s.drain.C(),
		session: st, refreshC: ac.refresh, refreshed: make(chan bool, 1), guard: guard,
		owner: newPhoneOwner(rtpSess, log), maxDuration: trunk.MaxDuration, quiet: s.cfg.QuietJoinLeave}
	c.run(ctx)
}

// localIP is the address of ours the caller reached: the bound listen IP,
// else the source route's local address, else the Request-URI host if it is
// an IP. Never the unspecified address.
func (s *Server) localIP(req *sip.Request) (netip.Addr, error) {
	if ip := s.listenIP(); ip.IsValid() && !ip.IsUnspecified() {
		return ip, nil
	}
	if host, _, err := net.SplitHostPort(req.Source()); err == nil {
		if ip, err := routeLocalIP(host); err == nil {
			return ip, nil
		}
	}
	if ip, err := netip.ParseAddr(req.Recipient.Host); err == nil && !ip.IsUnspecified() {
		return ip.Unmap(), nil
	}
	return netip.Addr{}, errNoLocalIP
}

// routeLocalIP asks the kernel which local address routes to host. A
// connected UDP socket sends nothing.
func routeLocalIP(host string) (netip.Addr, error) {
	c, err := net.Dial("udp", net.JoinHostPort(host, "9"))
	if err != nil {
		return netip.Addr{}, err
	}
	defer c.Close()
	ap, err := netip.ParseAddrPort(c.LocalAddr().String())
	if err != nil {
		return netip.Addr{}, err
	}
	if ap.Addr().IsUnspecified() {
		return netip.Addr{}, errNoLocalIP
	}
	return ap.Addr().Unmap(), nil
}
