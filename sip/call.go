package sip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"dialroom/dialplan"
	"dialroom/mixer"
)

// frameInterval is the RTP packetisation time we send (20 ms, 160 samples).
const frameInterval = 20 * time.Millisecond

// byeTimeout bounds how long hanging up may take.
const byeTimeout = 5 * time.Second

// ivr is what a call needs from dialplan's IVR state machine.
type ivr interface {
	Start() []dialplan.Action
	Digit(d byte) []dialplan.Action
	PromptDone() []dialplan.Action
	Timeout() []dialplan.Action
}

// muteAware is an ivr that tracks mutes made by others (dialplan.IVR does;
// the IVR used while draining has no menu and does not).
type muteAware interface {
	SetMuted(muted bool)
}

// muteLockAware is an ivr that refuses *6 unmute while a moderator locked
// the caller's mute (dialplan.IVR does).
type muteLockAware interface {
	SetMuteLocked(locked bool)
}

// endReason says why a call ended; it decides whether we send BYE.
type endReason string

const (
	endRemote     endReason = "remote hangup"
	endIVR        endReason = "ivr hangup"
	endRTPTimeout endReason = "rtp timeout"
	endShutdown   endReason = "server closing"
	endJoinFailed endReason = "join failed"
	endExpired    endReason = "session expired" // RFC 4028 §10: no refresh
	endRemoved    endReason = "removed by moderator"
	endEnded      endReason = "meeting ended by moderator"
	endLocked     endReason = "room locked"
	endMaxLength  endReason = "maximum call duration"
)

func (r endReason) needsBye() bool { return r != endRemote }

// call is one answered phone call. Its run method is the one goroutine that
// owns it: it plays prompts, feeds the IVR and tears everything down.
type call struct {
	log     *slog.Logger
	dlg     *sipgo.DialogServerSession
	media   *rtpSession
	room    dialplan.Room
	label   string // masked caller number, safe to log and show
	number  string // full caller number ("" if withheld): never logged, for moderators only if allowed
	ivr     ivr
	bridge  Bridge
	prompts PromptSource
	timeout time.Duration     // RTP inactivity limit
	laddr   sip.Addr          // our UDP listener: BYE leaves from the port the call came in on
	contact sip.ContactHeader // ours in this dialog (TLS port for a call over TLS)

	infoDigits <-chan byte     // digits relayed in SIP INFO
	drainC     <-chan struct{} // closed when the server drains (drain.go)
	gate       digitGate       // one way of relaying digits per call, so none is reported twice

	session   sessionTimer // RFC 4028, zero when not negotiated
	sessT     *time.Timer  // next refresh (ours) or expiry (theirs)
	sessC     <-chan time.Time
	refreshC  <-chan struct{} // the caller refreshed (re-INVITE, UPDATE)
	refreshed chan bool       // result of our own refresh; buffered
	bg        sync.WaitGroup  // our refresh in flight
	guard     *pinGuard       // PIN failure throttle; nil in tests that need none
	moderator bool            // joined with the moderator PIN
	owner     *phoneOwner     // moderator actions on this call
	// maxDuration ends the call after this long (its trunk's limit); 0: none.
	maxDuration time.Duration
	quiet       bool      // no join/leave tones (Config.QuietJoinLeave)
	watch       roomWatch // the room's size, for join/leave tones (tones.go)

	prompt     []int16 // prompt being played, nil when none
	promptPos  int
	promptDone bool      // a Play must be acknowledged on the next tick
	joinWait   bool      // Join asked for while a prompt plays: join when it ends
	hangWait   bool      // Hangup asked for while a prompt plays
	hangReason endReason // why, when not the IVR's hangup ("" means endIVR)
	locked     bool      // the last join failed because the room is locked
	joined     bool
	membership Membership
	timer      *time.Timer
	timerC     <-chan time.Time
	scratch    [mixer.NarrowSamples]int16
}

// run drives the call until it ends, then hangs up and releases everything.
func (c *call) run(ctx context.Context) {
	c.timer = time.NewTimer(time.Hour)
	c.timer.Stop()
	c.sessT = time.NewTimer(time.Hour)
	c.armSession()
	lctx, cancel := context.WithCancel(ctx)
	reason := c.loop(lctx)
	cancel()
	c.bg.Wait()
	c.timer.Stop()
	c.sessT.Stop()
	// Closing the media first stops the reader, so no Push follows Leave.
	_ = c.media.Close()
	if c.membership != nil {
		c.membership.Leave()
	}
	if reason.needsBye() {
		bctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
		if err := c.bye(bctx); err != nil {
			c.log.Info("bye failed", "error", err)
		}
		cancel()
	}
	c.log.Info("call ended", "reason", string(reason), "joined", c.joined)
}

// moderatorMutePrompt tells a caller in the meeting that a moderator muted
// or unmuted them, with the same prompts as their own *6.
func moderatorMutePrompt(muted, joined bool) []dialplan.Action {
	if !joined {
		return nil
	}
	p := dialplan.PromptUnmuted
	if muted {
		p = dialplan.PromptMuted
	}
	return []dialplan.Action{{Kind: dialplan.ActionPlay, Prompt: p}}
}

// idleTick is the call loop's tick once the caller is in the room and no
// prompt plays: the mixer sends the room's audio, so the loop only checks
// the RTP timeout and the room size. At 20 ms, a thousand joined calls
// spent a third of the server's CPU waking up for nothing.
const idleTick = 100 * time.Millisecond

// tickEvery is how often the call loop must tick now: every frame while it
// sends prompts or silence itself, or a prompt's end is pending.
func (c *call) tickEvery() time.Duration {
	if !c.joined || c.prompt != nil || c.promptDone {
		return frameInterval
	}
	return idleTick
}

func (c *call) loop(ctx context.Context) endReason {
	every := frameInterval
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	reports := time.NewTicker(rtcpInterval)
	defer reports.Stop()
	removeC := c.owner.remove
	limitC, stopLimit := c.limitTimer()
	defer stopLimit()
	if r, end := c.apply(c.ivr.Start()); end {
		return r
	}
	for {
		var acts []dialplan.Action
		select {
		case <-ctx.Done():
			return endShutdown
		case <-c.dlg.Context().Done():
			return endRemote
		case <-removeC:
			removeC = nil
			if r, end := c.farewell(c.owner.farewell()); end {
				return r
			}
		case <-limitC:
			limitC = nil
			c.log.Info("maximum call duration reached", "max_duration", c.maxDuration)
			if r, end := c.farewell(dialplan.PromptGoodbye, endMaxLength); end {
				return r
			}
		case m := <-c.owner.muted:
			if v, ok := c.ivr.(muteAware); ok {
				v.SetMuted(m)
			}
			acts = moderatorMutePrompt(m, c.joined)
		case <-c.drainC:
			c.drainC = nil
			if r, end := c.startDrain(); end {
				return r
			}
		case d := <-c.media.digits:
			acts = c.digit(d, c.media.digitSource())
		case d := <-c.infoDigits:
			acts = c.digit(d, srcInfo)
		case <-c.timerC:
			c.timerC = nil
			acts = c.ivr.Timeout()
		case now := <-reports.C:
			c.media.sendRTCP(now)
		case <-c.refreshC:
			c.armSession()
		case <-c.sessC:
			c.sessC = nil
			if !c.session.weRefresh {
				return endExpired
			}
			c.refreshSession(ctx)
		case alive := <-c.refreshed:
			if !alive {
				return endExpired
			}
			c.armSession()
		case now := <-ticker.C:
			// A caller on hold (inactive, or only listening) sends no RTP.
			if c.media.expectingRTP() && now.Sub(c.media.LastReceived()) > c.timeout {
				return endRTPTimeout
			}
			var r endReason
			var end bool
			if acts, r, end = c.tick(); end {
				return r
			}
		}
		if r, end := c.apply(acts); end {
			return r
		}
		if d := c.tickEvery(); d != every {
			every = d
			ticker.Reset(d)
		}
	}
}

// limitTimer returns the channel that fires when the call reaches its
// maximum duration (nil when unlimited) and a function that stops it.
func (c *call) limitTimer() (<-chan time.Time, func()) {
	if c.maxDuration <= 0 {
		return nil, func() {}
	}
	t := time.NewTimer(c.maxDuration)
	return t.C, func() { t.Stop() }
}

// armSession starts the wait for the next session refresh, if any.
func (c *call) armSession() {
	if c.session.interval == 0 {
		return
	}
	c.sessT.Reset(c.session.next())
	c.sessC = c.sessT.C
}

// digit hands a digit to the IVR unless the call listens to another way of
// relaying digits.
func (c *call) digit(d byte, src digitSource) []dialplan.Action {
	if !c.gate.accept(src) {
		return nil
	}
	if v, ok := c.ivr.(muteLockAware); ok {
		v.SetMuteLocked(c.owner.locked.Load())
	}
	return c.ivr.Digit(d)
}

// bye ends the dialog. Over UDP it is sent from the SIP listener socket, as
// trunks and NATs expect (sipgo would otherwise open an ephemeral socket).
func (c *call) bye(ctx context.Context) error {
	inv := c.dlg.InviteRequest
	bye := sip.NewRequest(sip.BYE, inv.Contact().Address)
	bye.SetTransport(inv.Transport())
	if strings.EqualFold(inv.Transport(), "udp") {
		bye.Laddr = c.laddr
	}
	bye.AppendHeader(sip.HeaderClone(&c.contact))
	return c.dlg.WriteBye(ctx, bye)
}

// tick sends one 20 ms frame before Join (prompt or silence) and reports the
// end of a prompt to the IVR.
func (c *call) tick() ([]dialplan.Action, endReason, bool) {
	if c.promptDone {
		c.promptDone = false
		return c.ivr.PromptDone(), "", false
	}
	if c.prompt == nil {
		if !c.joined {
			c.media.sendFrame(nil)
		}
		c.watchRoom(time.Now())
		return nil, "", false
	}
	n := copy(c.scratch[:], c.prompt[c.promptPos:])
	clear(c.scratch[n:])
	c.media.sendFrame(c.scratch[:])
	c.promptPos += n
	if c.promptPos < len(c.prompt) {
		return nil, "", false
	}
	c.prompt = nil
	acts := c.ivr.PromptDone()
	if r, end := c.runDeferred(); end {
		return nil, r, true
	}
	return acts, "", false
}

// runDeferred executes a Hangup or Join that waited for a prompt to end.
func (c *call) runDeferred() (endReason, bool) {
	if c.hangWait {
		if c.hangReason != "" {
			return c.hangReason, true
		}
		return endIVR, true
	}
	if c.joinWait {
		c.joinWait = false
		if !c.join() {
			return c.joinFailed()
		}
	}
	return "", false
}

// apply executes IVR actions in order; it reports whether the call must end.
func (c *call) apply(acts []dialplan.Action) (endReason, bool) {
	for _, a := range acts {
		switch a.Kind {
		case dialplan.ActionPlay:
			c.play(a.Prompt)
		case dialplan.ActionStopPrompt:
			c.prompt = nil
			c.promptDone = false
			if r, end := c.runDeferred(); end {
				return r, true
			}
		case dialplan.ActionSetTimer:
			c.timer.Reset(a.After)
			c.timerC = c.timer.C
		case dialplan.ActionCancelTimer:
			c.timer.Stop()
			c.timerC = nil
		case dialplan.ActionJoin:
			c.moderator = a.Moderator
			if c.prompt != nil {
				c.joinWait = true
			} else if !c.join() {
				return c.joinFailed()
			}
		case dialplan.ActionPINFailed:
			c.log.Info("pin or code entry failed") // never the digits
			if c.guard != nil {
				c.guard.fail()
			}
		case dialplan.ActionPINAccepted:
			if c.guard != nil {
				c.guard.ok()
			}
		case dialplan.ActionSetRoom:
			c.room = a.Room
			c.log = c.log.With("room", a.Room.Slug)
			c.log.Info("dial-in code accepted")
		case dialplan.ActionMute, dialplan.ActionUnmute:
			c.setMuted(a.Kind == dialplan.ActionMute)
		case dialplan.ActionHangup:
			if c.prompt == nil {
				return endIVR, true
			}
			c.hangWait = true
		}
	}
	return "", false
}

// play starts a prompt. After Join the mixer owns the outgoing audio: the
// prompt is laid over it frame by frame (playOverlay) and its end is
// reported at once.
func (c *call) play(p dialplan.Prompt) {
	pcm := c.prompts.Prompt(c.room.Lang, p)
	if c.joined && len(pcm) > 0 {
		c.media.playOverlay(pcm) // over the room's audio; nothing waits for its end
	}
	if c.joined || len(pcm) == 0 {
		c.prompt = nil
		c.promptDone = true
		return
	}
	if isPINPrompt(p) && c.guard != nil {
		// Repeated failures from this caller or trunk: wait before asking.
		if d, _ := c.guard.check(); d > 0 {
			pcm = append(make([]int16, int(d.Seconds()*8000)), pcm...)
		}
	}
	c.prompt, c.promptPos, c.promptDone = pcm, 0, false
}

// join hands the media leg to the bridge.
func (c *call) join() bool {
	if c.joined {
		return true
	}
	info := mixer.PhoneInfo{ID: "phone-" + randomHex(8), Label: c.label, Number: c.number, Moderator: c.moderator, Owner: c.owner}
	m, err := c.bridge.Join(c.room.Slug, info, c.media)
	if errors.Is(err, ErrRoomLocked) {
		c.log.Info("join refused: room locked", "room", c.room.Slug)
		c.locked = true
		return false
	}
	if err != nil {
		c.log.Warn("join room failed", "room", c.room.Slug, "error", err)
		return false
	}
	c.membership = m
	c.media.SetMembership(m)
	c.joined = true
	role := "participant"
	if c.moderator {
		role = "moderator"
	}
	c.log.Info("caller joined room", "room", c.room.Slug, "participant", info.ID, "role", role)
	c.startWatch(m)
	if f, ok := m.(firstReporter); ok && f.FirstInRoom() {
		c.play(dialplan.PromptFirstParticipant)
	}
	return true
}

// joinFailed ends the call after a failed join: a locked room is told
// first (then BYE), any other failure hangs up at once.
func (c *call) joinFailed() (endReason, bool) {
	if c.locked {
		return c.farewell(dialplan.PromptRoomLocked, endLocked)
	}
	return endJoinFailed, true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
