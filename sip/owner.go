package sip

import (
	"log/slog"
	"sync"
	"sync/atomic"

	"dialroom/dialplan"
)

// phoneOwner lets moderators act on a call (mixer.PhoneOwner, handed to the
// room with the caller's PhoneInfo). Safe for concurrent use; neither method
// blocks.
type phoneOwner struct {
	media  *rtpSession
	log    *slog.Logger
	remove chan struct{} // closed by Remove or End; the call goroutine hangs up
	ended  bool          // set before remove is closed: End rather than Remove
	once   sync.Once
	muted  chan bool   // moderator mute changes for the call goroutine's IVR (latest wins)
	locked atomic.Bool // a moderator locked the mute: the IVR refuses *6 unmute
}

func newPhoneOwner(media *rtpSession, log *slog.Logger) *phoneOwner {
	return &phoneOwner{media: media, log: log, remove: make(chan struct{}), muted: make(chan bool, 1)}
}

// SetMuted stops (true) or resumes (false) the caller's voice towards the
// room; the call goroutine then plays the caller the muted/unmuted prompt.
func (o *phoneOwner) SetMuted(muted bool) {
	o.media.muted.Store(muted)
	o.log.Info("caller muted by moderator", "muted", muted)
	for {
		select {
		case o.muted <- muted:
			return
		default:
		}
		select { // drop a stale value nobody read yet, then try again
		case <-o.muted:
		default:
		}
	}
}

// SetMuteLocked locks (true) or unlocks the caller's mute (sfu.MuteLocker):
// the call goroutine hands it to the IVR before each keypad digit, so a
// locked caller's *6 only replays the "muted" prompt.
func (o *phoneOwner) SetMuteLocked(locked bool) {
	o.locked.Store(locked)
	o.log.Info("caller mute lock changed by moderator", "locked", locked)
}

// Remove hangs up the call (BYE) after the "you were removed" prompt; it
// leaves the room as on any other end.
func (o *phoneOwner) Remove() {
	o.once.Do(func() { close(o.remove) })
}

// End hangs up like Remove, after the "the meeting has ended" prompt.
func (o *phoneOwner) End() {
	o.once.Do(func() { o.ended = true; close(o.remove) })
}

// farewell is the prompt and reason for a call that Remove or End ended.
// Only valid once remove is closed (the close orders the write of ended).
func (o *phoneOwner) farewell() (dialplan.Prompt, endReason) {
	if o.ended {
		return dialplan.PromptMeetingEnded, endEnded
	}
	return dialplan.PromptRemoved, endRemoved
}
