package sip

import (
	"time"

	"github.com/emiago/sipgo/sip"

	"dialroom/dialplan"
)

// pinGuard applies the server's PIN throttles to one call: failures count
// against the caller ID on its trunk and against the trunk as a whole.
// Withheld numbers share one key per trunk.
type pinGuard struct {
	caller, trunk *dialplan.Throttle
	ck, tk        string
}

func (s *Server) pinGuardFor(req *sip.Request, trunk Trunk) *pinGuard {
	num := callerNumber(req)
	if num == "" {
		num = "withheld"
	}
	// The keys stay in memory only; they are never logged.
	return &pinGuard{caller: s.callerThrottle, trunk: s.trunkThrottle, ck: trunk.Name + "|" + num, tk: trunk.Name}
}

// check returns the delay before the next PIN prompt and whether the
// caller or its trunk is locked out.
func (g *pinGuard) check() (time.Duration, bool) {
	d1, l1 := g.caller.Check(g.ck)
	d2, l2 := g.trunk.Check(g.tk)
	return max(d1, d2), l1 || l2
}

func (g *pinGuard) fail() {
	g.caller.Fail(g.ck)
	g.trunk.Fail(g.tk)
}

// ok forgets the caller's failures (not the trunk's: one good caller does
// not vouch for the others).
func (g *pinGuard) ok() { g.caller.Success(g.ck) }

// isPINPrompt reports whether p asks for the PIN or a dial-in code, so a
// throttle delay goes before it.
func isPINPrompt(p dialplan.Prompt) bool {
	switch p {
	case dialplan.PromptEnterPIN, dialplan.PromptWrongPIN, dialplan.PromptEnterCode, dialplan.PromptWrongCode:
		return true
	}
	return false
}
