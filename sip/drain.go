package sip

import (
	"context"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"dialroom/dialplan"
)

// drainPoll is how often Drain looks whether every call has ended.
const drainPoll = 50 * time.Millisecond

// drainer is the server's "shutting down" switch. Its zero value is ready:
// C is closed once Drain starts; every call and every new INVITE sees it.
type drainer struct {
	mu sync.Mutex
	ch chan struct{}
}

// C returns the channel closed when draining starts.
func (d *drainer) C() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ch == nil {
		d.ch = make(chan struct{})
	}
	return d.ch
}

func (d *drainer) start() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ch == nil {
		d.ch = make(chan struct{})
	}
	select {
	case <-d.ch:
	default:
		close(d.ch)
	}
}

func (d *drainer) on() bool {
	select {
	case <-d.C():
		return true
	default:
		return false
	}
}

// Draining reports whether Drain has started (readiness probes say "not
// ready" from then on).
func (s *Server) Draining() bool { return s.drain.on() }

// Drain ends the service gracefully: new INVITEs are answered 503 from now
// on, every caller leaves its room and hears dialplan.PromptMeetingEnding,
// then gets a BYE. Drain returns when every call has ended, or when grace
// has passed or ctx is done, whichever is first; then it closes the server,
// which hangs up whoever is left with BYE. Safe to call more than once.
func (s *Server) Drain(ctx context.Context, grace time.Duration) error {
	s.drain.start()
	s.log.Info("draining: refusing new calls, telling callers the meeting ends", "calls", s.callCount(), "grace", grace)
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	for s.callCount() > 0 {
		select {
		case <-ctx.Done():
			return s.Close()
		case <-deadline.C:
			s.log.Info("drain grace period over: hanging up the remaining calls", "calls", s.callCount())
			return s.Close()
		case <-tick.C:
		}
	}
	return s.Close()
}

func (s *Server) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// refuseDraining answers a new INVITE 503 while draining (RFC 3261 §21.5.4:
// the trunk may try another server); it reports whether it did.
func (s *Server) refuseDraining(req *sip.Request, tx sip.ServerTransaction) bool {
	if !s.drain.on() {
		return false
	}
	s.respond(req, tx, 503, "Service Unavailable")
	return true
}

// startDrain takes the caller out of its room and plays the "meeting is
// ending" prompt; the call hangs up with BYE when the prompt ends.
func (c *call) startDrain() (endReason, bool) {
	return c.farewell(dialplan.PromptMeetingEnding, endShutdown)
}

// farewell takes the caller out of its room (if in one) and plays p; the
// call hangs up with BYE, for reason, when the prompt ends. The IVR no
// longer hears digits. Without the prompt the call ends at once.
func (c *call) farewell(p dialplan.Prompt, reason endReason) (endReason, bool) {
	if c.membership != nil {
		c.media.SetMembership(noMembership{})
		c.membership.Leave()
		c.membership = nil
	}
	c.media.playOverlay(nil) // a *6 or first-participant prompt must not drown the farewell
	c.joined = false         // the call, not the mixer, sends the audio from now on
	c.joinWait = false
	c.timer.Stop()
	c.timerC = nil
	c.ivr = drainedIVR{}
	pcm := c.prompts.Prompt(c.room.Lang, p)
	if len(pcm) == 0 {
		return reason, true
	}
	c.prompt, c.promptPos, c.promptDone = pcm, 0, false
	c.hangWait, c.hangReason = true, reason
	return "", false
}

// noMembership drops the caller's audio after it left the room.
type noMembership struct{}

func (noMembership) Push([]int16) {}
func (noMembership) Leave()       {}

// drainedIVR ignores everything: a draining call only plays its last prompt.
type drainedIVR struct{}

func (drainedIVR) Start() []dialplan.Action      { return nil }
func (drainedIVR) Digit(byte) []dialplan.Action  { return nil }
func (drainedIVR) PromptDone() []dialplan.Action { return nil }
func (drainedIVR) Timeout() []dialplan.Action    { return nil }
