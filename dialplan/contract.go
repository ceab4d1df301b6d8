package dialplan

import (
	"errors"
	"time"
)

// Sentinel errors that callers test with errors.Is.
var (
	// ErrNotFound means no room or number matches.
	ErrNotFound = errors.New("not found")
	// ErrExists means a room slug or number is already taken.
	ErrExists = errors.New("already exists")
	// ErrInvalid wraps every validation failure (slug, PIN, number, language).
	ErrInvalid = errors.New("invalid")
)

// Room is a meeting room as the admin configured it.
type Room struct {
	ID      int64
	Slug    string // URL name, [a-z0-9-], 1-64 chars
	Name    string // title shown in the browser
	Lang    string // "de" (default) or "en": language of the phone prompts
	PINHash string // empty: no PIN; else an argon2id/bcrypt hash, never the PIN
	// ModPINHash is the moderator PIN's hash, "" for none; it only counts
	// when PINHash is set. Callers who type it join as moderators.
	ModPINHash string
	// DialCode is the room's unique numeric dial-in code (DialCodeLen
	// digits when generated, 4-8 when set by an admin), asked for by shared
	// numbers. Not secret: the PIN protects.
	DialCode  string
	CreatedAt time.Time
}

// HasPIN reports whether callers must enter a PIN.
func (r Room) HasPIN() bool { return r.PINHash != "" }

// Number is a phone number (DID) in E.164 form assigned to a room, or
// shared: its callers type a room's dial-in code.
type Number struct {
	E164     string // "+4930123456"
	RoomSlug string // "" when Shared
	Shared   bool
	Lang     string // Shared: language of the prompts before the code; else ""
}

// Prompt names one recorded announcement; the sip package has one per language.
type Prompt string

// The prompts the IVR plays.
const (
	PromptEnterPIN Prompt = "enter_pin" // "Please enter the meeting PIN followed by the hash key."
	PromptWrongPIN Prompt = "wrong_pin" // "That PIN is not correct. Please try again."
	// Shared numbers ask for a room's dial-in code first.
	PromptEnterCode Prompt = "enter_code" // "Please enter the meeting code followed by the hash key."
	PromptWrongCode Prompt = "wrong_code" // "That meeting code is not valid. Please try again."
	PromptWelcome   Prompt = "welcome"    // "You are now in the meeting." (confirmation / greeting)
	PromptGoodbye   Prompt = "goodbye"    // "Goodbye."
	// PromptMeetingEnding is played to every caller when the server shuts down.
	PromptMeetingEnding Prompt = "meeting_ending" // "This meeting is ending now. Goodbye."
	// Keypad menu in the meeting (*6, *0).
	PromptMuted      Prompt = "muted"       // "You are muted."
	PromptUnmuted    Prompt = "unmuted"     // "You are unmuted."
	PromptKeypadHelp Prompt = "keypad_help" // "Press star six to mute or unmute yourself. Press star zero …"
	// Played by the call itself, outside the IVR's dialogue.
	PromptFirstParticipant Prompt = "first_participant" // "You are the first participant in the meeting." (joining an empty room)
	PromptMeetingEnded     Prompt = "meeting_ended"     // "The meeting has ended. Goodbye."
	PromptRemoved          Prompt = "removed"           // "A moderator has removed you from the meeting. Goodbye."
	PromptRoomLocked       Prompt = "room_locked"       // "This meeting is locked. … Goodbye."
)

// ActionKind says what an IVR Action asks the call to do.
type ActionKind int

// The actions the IVR emits.
const (
	ActionPlay        ActionKind = iota + 1 // play Action.Prompt; report PromptDone when it has finished
	ActionStopPrompt                        // stop the prompt that is playing (barge-in); no PromptDone follows
	ActionSetTimer                          // (re)arm the one IVR timer to fire Timeout after Action.After
	ActionCancelTimer                       // disarm the timer
	ActionJoin                              // put the caller into the room
	ActionHangup                            // end the call (BYE)
	ActionPINFailed                         // a PIN entry failed: count it against the caller (no digits)
	ActionPINAccepted                       // the PIN was right: forget the caller's failures
	ActionMute                              // in the meeting: stop sending the caller's voice to the room (*6)
	ActionUnmute                            // in the meeting: send it again (*6 once more)
	ActionSetRoom                           // a dial-in code was right: Action.Room is the call's room from now on
)

// Action is one instruction from the IVR to the call that runs it.
type Action struct {
	Kind   ActionKind
	Prompt Prompt        // for ActionPlay
	After  time.Duration // for ActionSetTimer
	// Moderator, for ActionJoin, says the caller typed the moderator PIN.
	Moderator bool
	// Room, for ActionSetRoom, is the room the dial-in code leads to.
	Room Room
}
