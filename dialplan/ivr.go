package dialplan

import "time"

// IVROptions tune the IVR. Zero values mean the defaults.
type IVROptions struct {
	MaxTries   int           // failed PIN entries before goodbye; default 3
	FirstDigit time.Duration // wait for the first key after a prompt; default 10s
	InterDigit time.Duration // wait for the next key; default 5s
	MaxDigits  int           // more digits than this is a wrong PIN; default 12
	// CheckPIN compares an entry with a stored hash; default CheckPIN. The
	// phone side passes a bounded one: each check costs a few ms and 8 MiB.
	CheckPIN func(hash, pin string) bool
}

func (o IVROptions) withDefaults() IVROptions {
	if o.CheckPIN == nil {
		o.CheckPIN = CheckPIN
	}
	if o.MaxTries <= 0 {
		o.MaxTries = 3
	}
	if o.FirstDigit <= 0 {
		o.FirstDigit = 10 * time.Second
	}
	if o.InterDigit <= 0 {
		o.InterDigit = 5 * time.Second
	}
	if o.MaxDigits <= 0 {
		o.MaxDigits = MaxPINLen
	}
	return o
}

type ivrState int

const (
	ivrIdle    ivrState = iota // before Start
	ivrCollect                 // collecting a PIN (a prompt may be playing)
	ivrWelcome                 // welcome playing; Join follows
	ivrGoodbye                 // goodbye playing; Hangup follows
	ivrJoined                  // done: caller is in the room
	ivrHungUp                  // done: call ended
)

// IVR is the phone menu of one call as a pure state machine: no clock, no
// goroutines, no I/O. The call feeds it events (Start, Digit, PromptDone,
// Timeout) from one goroutine and carries out the returned actions in
// order. It is not safe for concurrent use.
type IVR struct {
	room    Room
	opts    IVROptions
	state   ivrState
	playing bool   // a prompt we asked for has not finished or been stopped
	digits  []byte // PIN digits entered since the last '#', '*' or failure
	fails   int
	star    bool // in the meeting: '*' pressed, the menu key follows
	mod     bool // the caller typed the moderator PIN
	muted   bool // in the meeting: the caller muted itself with *6
	// muteLocked: a moderator locked the caller's mute; *6 cannot unmute.
	muteLocked bool
	// lookup, for a shared number, finds the room of a dial-in code; the
	// IVR asks for the code first while wantCode is set.
	lookup   CodeLookup
	wantCode bool
}

// CodeLookup returns the room whose dial-in code is code, false when none.
type CodeLookup func(code string) (Room, bool)

// NewIVR returns the IVR for a call to room.
func NewIVR(room Room, opts IVROptions) *IVR {
	o := opts.withDefaults()
	return &IVR{room: room, opts: o, digits: make([]byte, 0, o.MaxDigits+1)}
}

// NewSharedIVR returns the IVR for a call to a shared number: it asks for
// a dial-in code, finds the room with lookup (and reports it with
// ActionSetRoom), then goes on as NewIVR would for that room. Wrong codes
// count like wrong PINs (ActionPINFailed).
func NewSharedIVR(lookup CodeLookup, opts IVROptions) *IVR {
	v := NewIVR(Room{}, opts)
	v.lookup, v.wantCode = lookup, true
	return v
}

// Joined reports whether the IVR has emitted ActionJoin.
func (v *IVR) Joined() bool { return v.state == ivrJoined }

// Start begins the dialogue: ask for the PIN, or welcome the caller when
// the room has none. Calling it again does nothing.
func (v *IVR) Start() []Action {
	if v.state != ivrIdle {
		return nil
	}
	if v.wantCode {
		return v.play(ivrCollect, PromptEnterCode)
	}
	if !v.room.HasPIN() {
		return v.play(ivrWelcome, PromptWelcome)
	}
	return v.play(ivrCollect, PromptEnterPIN)
}

// Digit handles one DTMF key: '0'-'9', '*' (clear the entry) or '#' (end
// the entry). A key while a prompt plays stops it (barge-in). Other bytes
// and keys outside PIN collection are ignored.
func (v *IVR) Digit(d byte) []Action {
	if v.state == ivrJoined && isDTMF(d) {
		return v.menu(d)
	}
	if v.state != ivrCollect || !isDTMF(d) {
		return nil
	}
	var acts []Action
	if v.playing {
		v.playing = false
		acts = append(acts, Action{Kind: ActionStopPrompt})
	}
	switch {
	case d == '#':
		return append(acts, v.submit()...)
	case d == '*':
		v.digits = v.digits[:0]
		return append(acts, v.timer(v.opts.FirstDigit))
	case len(v.digits) >= v.opts.MaxDigits:
		return append(acts, v.fail()...)
	default:
		v.digits = append(v.digits, d)
		return append(acts, v.timer(v.opts.InterDigit))
	}
}

// SetMuted tells the IVR that someone else (a moderator) muted or unmuted
// the caller, so that the next *6 does the opposite of the current state.
func (v *IVR) SetMuted(muted bool) { v.muted = muted }

// SetMuteLocked tells the IVR whether a moderator locked the caller's mute:
// while locked, *6 does not unmute but plays the "muted" prompt again.
func (v *IVR) SetMuteLocked(locked bool) { v.muteLocked = locked }

// menu handles keys typed in the meeting: *6 mutes or unmutes the caller,
// *0 and *# play the keypad help. Anything else is ignored.
func (v *IVR) menu(d byte) []Action {
	if d == '*' {
		v.star = true
		return nil
	}
	if !v.star {
		return nil
	}
	v.star = false
	switch d {
	case '6':
		if v.muteLocked { // stay muted; say so again
			v.muted = true
			return []Action{{Kind: ActionMute}, {Kind: ActionPlay, Prompt: PromptMuted}}
		}
		v.muted = !v.muted
		if v.muted {
			return []Action{{Kind: ActionMute}, {Kind: ActionPlay, Prompt: PromptMuted}}
		}
		return []Action{{Kind: ActionUnmute}, {Kind: ActionPlay, Prompt: PromptUnmuted}}
	case '0', '#':
		return []Action{{Kind: ActionPlay, Prompt: PromptKeypadHelp}}
	}
	return nil
}

// PromptDone reports that the last played prompt finished.
func (v *IVR) PromptDone() []Action {
	if !v.playing {
		return nil
	}
	v.playing = false
	switch v.state {
	case ivrCollect:
		return []Action{v.timer(v.opts.FirstDigit)}
	case ivrWelcome:
		v.state = ivrJoined
		return []Action{{Kind: ActionJoin, Moderator: v.mod}}
	case ivrGoodbye:
		v.state = ivrHungUp
		return []Action{{Kind: ActionHangup}}
	}
	return nil
}

// Timeout reports that the timer from the last ActionSetTimer fired. While
// collecting, it counts as a failed try; otherwise it is stale and ignored.
func (v *IVR) Timeout() []Action {
	if v.state != ivrCollect || v.playing {
		return nil
	}
	if len(v.digits) > 0 {
		// Digits without '#': take them as entered, as most IVRs do. A
		// wrong entry is a real guess and counts as a PIN failure.
		return v.submit()
	}
	// Silence uses up one of the call's tries but is no guess: it is not
	// reported as a PIN failure, so a caller who hesitates is not slowed
	// down or locked out on later calls.
	v.fails++
	acts := []Action{{Kind: ActionCancelTimer}}
	if v.fails >= v.opts.MaxTries {
		return append(acts, v.play(ivrGoodbye, PromptGoodbye)...)
	}
	if v.wantCode {
		return append(acts, v.play(ivrCollect, PromptEnterCode)...)
	}
	return append(acts, v.play(ivrCollect, PromptEnterPIN)...)
}

// submit checks the entered PIN or code ('#' was pressed).
func (v *IVR) submit() []Action {
	if v.wantCode {
		return v.submitCode()
	}
	ok := len(v.digits) > 0 && v.opts.CheckPIN(v.room.PINHash, string(v.digits))
	if !ok && len(v.digits) > 0 && v.room.ModPINHash != "" {
		ok = v.opts.CheckPIN(v.room.ModPINHash, string(v.digits))
		v.mod = ok
	}
	clear(v.digits)
	v.digits = v.digits[:0]
	if !ok {
		return v.fail()
	}
	return append([]Action{{Kind: ActionCancelTimer}, {Kind: ActionPINAccepted}}, v.play(ivrWelcome, PromptWelcome)...)
}

// submitCode looks up the entered dial-in code. A right code moves on to
// the room's PIN (with fresh tries) or straight in; it does not clear the
// caller's PIN failures, since codes are not secret.
func (v *IVR) submitCode() []Action {
	var room Room
	ok := len(v.digits) > 0
	if ok {
		room, ok = v.lookup(string(v.digits))
	}
	clear(v.digits)
	v.digits = v.digits[:0]
	if !ok {
		return v.fail()
	}
	v.room, v.wantCode, v.fails = room, false, 0
	acts := []Action{{Kind: ActionCancelTimer}, {Kind: ActionSetRoom, Room: room}}
	if !room.HasPIN() {
		return append(acts, v.play(ivrWelcome, PromptWelcome)...)
	}
	return append(acts, v.play(ivrCollect, PromptEnterPIN)...)
}

// fail counts a failed try and asks again, or says goodbye after MaxTries.
func (v *IVR) fail() []Action {
	v.fails++
	clear(v.digits)
	v.digits = v.digits[:0]
	acts := []Action{{Kind: ActionCancelTimer}, {Kind: ActionPINFailed}}
	if v.fails >= v.opts.MaxTries {
		return append(acts, v.play(ivrGoodbye, PromptGoodbye)...)
	}
	if v.wantCode {
		return append(acts, v.play(ivrCollect, PromptWrongCode)...)
	}
	return append(acts, v.play(ivrCollect, PromptWrongPIN)...)
}

func (v *IVR) play(next ivrState, p Prompt) []Action {
	v.state = next
	v.playing = true
	return []Action{{Kind: ActionPlay, Prompt: p}}
}

func (v *IVR) timer(d time.Duration) Action {
	return Action{Kind: ActionSetTimer, After: d}
}

func isDTMF(d byte) bool {
	return d >= '0' && d <= '9' || d == '*' || d == '#'
}
