package sip

import (
	"errors"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// ErrNoInfoDigit means a SIP INFO body carried no keypad digit we understand.
var ErrNoInfoDigit = errors.New("sip: no dtmf digit in info body")

// Content types of DTMF carried in SIP INFO. Neither is an IETF standard;
// both are what carriers and PBXs send when they relay keys out of band
// (Cisco's application/dtmf-relay with "Signal=" and "Duration=" lines, and
// the bare application/dtmf with the key alone).
const (
	ctDTMFRelay = "application/dtmf-relay"
	ctDTMF      = "application/dtmf"
)

// ParseInfoDTMF returns the keypad digit ('0'-'9', '*', '#', 'A'-'D') that a
// SIP INFO body of content type ct carries. Signals given as RFC 4733 event
// numbers (10 for '*', 11 for '#', 12-15 for 'A'-'D') are accepted too.
func ParseInfoDTMF(ct string, body []byte) (byte, error) {
	ct, _, _ = strings.Cut(ct, ";")
	switch strings.ToLower(strings.TrimSpace(ct)) {
	case ctDTMFRelay:
		for line := range strings.Lines(string(body)) {
			k, v, ok := strings.Cut(line, "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "signal") {
				return infoSignal(v)
			}
		}
		return 0, ErrNoInfoDigit
	case ctDTMF:
		return infoSignal(string(body))
	}
	return 0, ErrNoInfoDigit
}

// infoSignal maps one signal value to a keypad digit.
func infoSignal(v string) (byte, error) {
	v = strings.ToUpper(strings.TrimSpace(v))
	if len(v) == 1 {
		if d := v[0]; (d >= '0' && d <= '9') || d == '*' || d == '#' || (d >= 'A' && d <= 'D') {
			return d, nil
		}
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 10 && n <= 15 {
		return DTMFEvent{Event: uint8(n)}.Digit(), nil
	}
	return 0, ErrNoInfoDigit
}

// handleInfo takes DTMF relayed in SIP INFO (RFC 6086 legacy usage, no
// Info-Package) and hands the digit to the call. A retransmitted or
// reordered INFO (CSeq not above the last one taken) is answered but not
// reported again.
func (s *Server) handleInfo(req *sip.Request, tx sip.ServerTransaction) {
	ac := s.findCall(req)
	if ac == nil {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	d, err := ParseInfoDTMF(ct, req.Body())
	if err != nil {
		if len(req.Body()) == 0 {
			s.respond(req, tx, 200, "OK") // an empty INFO is a keep-alive
			return
		}
		s.respond(req, tx, 415, "Unsupported Media Type", sip.NewHeader("Accept", ctDTMFRelay+", "+ctDTMF))
		return
	}
	if err := ac.dlg.ReadRequest(req, tx); err != nil {
		s.respond(req, tx, 500, "Server Internal Error")
		return
	}
	// The digit is queued before the 200 goes out: a caller sends its next
	// INFO only after that, so digits keep their order and a later INFO
	// cannot take its CSeq first and make this one look old.
	if ac.takeInfo(req.CSeq().SeqNo) {
		select {
		case ac.infoDigits <- d:
		default: // the call is not reading; a digit flood is dropped
		}
	}
	s.respond(req, tx, 200, "OK")
}

// takeInfo reports whether an INFO with CSeq seq is new for this call.
func (ac *activeCall) takeInfo(seq uint32) bool {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	if ac.infoSeen && seq <= ac.infoSeq {
		return false
	}
	ac.infoSeen, ac.infoSeq = true, seq
	return true
}

// digitSource is the way a digit reached us.
type digitSource uint8

const (
	srcRFC4733 digitSource = iota + 1
	srcInfo
	srcInband
)

// digitGate makes sure a key pressed once is reported once even when the
// carrier relays it in two ways (RFC 4733 events and SIP INFO, as some
// gateways do): the first way that delivers a digit is the one the call
// listens to from then on.
type digitGate struct{ src digitSource }

// accept reports whether a digit from src counts.
func (g *digitGate) accept(src digitSource) bool {
	if g.src == 0 {
		g.src = src
	}
	return g.src == src
}
