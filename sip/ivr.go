package sip

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"dialroom/dialplan"
)

// defaultIVR runs dialplan's IVR with its default options and the PIN check
// given: for a shared number the one that asks for a dial-in code and finds
// it with lookup.
func defaultIVR(rt dialplan.Route, lookup dialplan.CodeLookup, check func(hash, pin string) bool) ivr {
	opts := dialplan.IVROptions{CheckPIN: check}
	if rt.Number.Shared {
		return dialplan.NewSharedIVR(lookup, opts)
	}
	return dialplan.NewIVR(rt.Room, opts)
}

// boundedCheck runs check at most cap(slots) at a time. A PIN check is an
// argon2id hash (about 8 MiB and a few ms); hundreds of callers typing '#'
// together must queue for the CPUs instead of taking gigabytes at once.
func boundedCheck(slots chan struct{}, check func(hash, pin string) bool) func(hash, pin string) bool {
	return func(hash, pin string) bool {
		slots <- struct{}{}
		defer func() { <-slots }()
		return check(hash, pin)
	}
}

// maskCaller turns a caller number as presented into the form safe to log
// and show ("+49 30 ••• 456"); withheld or unusable numbers give
// dialplan.UnknownCaller.
func maskCaller(raw string) string { return dialplan.MaskNumber(raw) }

// codeLookupTimeout bounds one dial-in code lookup in the store.
const codeLookupTimeout = 5 * time.Second

// codeLookup returns the IVR's dial-in code lookup. A failing store counts
// as an unknown code (and is logged, without the code).
func (s *Server) codeLookup(ctx context.Context, log *slog.Logger) dialplan.CodeLookup {
	return func(code string) (dialplan.Room, bool) {
		lctx, cancel := context.WithTimeout(ctx, codeLookupTimeout)
		defer cancel()
		r, err := s.rooms.RoomByDialCode(lctx, code)
		if err != nil {
			if !errors.Is(err, dialplan.ErrNotFound) {
				log.Warn("dial-in code lookup failed", "error", err)
			}
			return dialplan.Room{}, false
		}
		return r, true
	}
}
