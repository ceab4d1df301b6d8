package mixer

// SampleRate is the rate the mixer mixes at (Hz): a room's audio is wideband,
// so G.722 and Opus phone legs and browsers hear each other up to 7 kHz.
// Narrowband (G.711) legs push and receive 8 kHz; the mixer resamples (see
// resample.go) once per room for listeners and only for talking inputs.
const SampleRate = 16000

// FrameSamples is one 20 ms frame at SampleRate.
const FrameSamples = SampleRate / 50

// NarrowRate is the rate of narrowband (G.711) phone audio (Hz).
const NarrowRate = 8000

// NarrowSamples is one 20 ms frame at NarrowRate.
const NarrowSamples = NarrowRate / 50

// Leg is the media side of one phone call as the mixer sees it; the sip package
// implements it.
type Leg interface {
	// WriteAudio receives one frame (NarrowSamples of 8 kHz PCM) of the room's mix
	// without this leg's own voice, once per 20 ms tick. It must not block and must
	// not keep pcm after it returns.
	WriteAudio(pcm []int16)
}

// PhoneInfo describes a phone participant for the room.
type PhoneInfo struct {
	ID        string // unique per call, e.g. "phone-<random>"
	Label     string // what browsers show: a masked number or "Unknown caller"
	Number    string // the full caller number, "" if withheld; never logged (see sfu.PhoneInfo.Number)
	Moderator bool   // the caller entered the room's moderator PIN
	// Owner carries out moderator actions (mute, remove) on the call; nil if
	// the phone side offers none. The mixer hands it on to the room untouched.
	Owner PhoneOwner
}

// PhoneOwner is the phone side of a participant, as moderators reach it:
// SetMuted stops or resumes the caller's voice towards the room, Remove and
// End hang up (the call then leaves as on any other end). Both must be safe to call
// more than once and must not block for long. An owner may also implement
// SetMuteLocked(bool) (sfu.MuteLocker); the mixer and the room adapter hand the
// owner on unwrapped so that the room finds it with a type assertion.
type PhoneOwner interface {
	SetMuted(muted bool)
	Remove()
	End() // Remove because the meeting was ended for everyone
}
