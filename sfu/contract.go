package sfu

import "github.com/pion/rtp"

// PhoneInfo describes a participant whose audio comes from the mixer (a phone
// caller) rather than from a PeerConnection.
type PhoneInfo struct {
	ID    string // unique participant ID
	Label string // masked number or "Unknown caller"
	// Number is the caller's full number ("" if withheld). It is never in
	// the roster's JSON; the web layer shows it to moderators only, and
	// only when the operator allows it (privacy.show_numbers_to_moderators).
	Number string
	Role   string // RoleModerator (e.g. entered a moderator PIN) or RoleParticipant ("" = participant)
	// Owner carries out moderator actions on the caller; nil if the phone
	// side cannot (then Phone.SetOwner may set it later).
	Owner PhoneOwner
}

// PhoneOwner is implemented by the phone side (sip/mixer) of a phone
// participant so that moderators can act on the call. Its methods are called
// from signalling goroutines, never under a room lock; they must not block
// for long and must be safe to call more than once.
type PhoneOwner interface {
	// SetMuted stops (true) or resumes (false) sending the caller's audio
	// into the room. The roster's muted flag is updated by the room.
	SetMuted(muted bool)
	// Remove hangs up the call (BYE). The phone side must then call
	// Phone.Leave, as it does for any other end of the call.
	Remove()
	// End is Remove because a moderator ended the meeting for everyone, so
	// the caller hears that the meeting has ended rather than that it was removed.
	End()
}

// MuteLocker is optionally implemented by a PhoneOwner whose caller can
// unmute itself (keypad *6): while locked, the phone side must refuse that.
// The room checks for it with a type assertion when a moderator locks or
// unlocks a mute; like PhoneOwner's methods it must not block.
type MuteLocker interface {
	SetMuteLocked(locked bool)
}

// AudioSink receives every RTP packet of every browser audio track in a room
// as plain Opus: of a RED packet (RFC 2198, red.go) the primary block, and
// before it any frame lost on the way in that its redundancy recovers, with
// that frame's own sequence number and timestamp. OnAudio is called from the track's reader goroutine: it must not block and must
// not keep pkt after it returns.
type AudioSink interface {
	OnAudio(participantID string, pkt *rtp.Packet)
}
