package dialplan

import "fmt"

// String names the action kind, for logs and test failures.
func (k ActionKind) String() string {
	switch k {
	case ActionPlay:
		return "Play"
	case ActionStopPrompt:
		return "StopPrompt"
	case ActionSetTimer:
		return "SetTimer"
	case ActionCancelTimer:
		return "CancelTimer"
	case ActionJoin:
		return "Join"
	case ActionHangup:
		return "Hangup"
	case ActionPINFailed:
		return "PINFailed"
	case ActionPINAccepted:
		return "PINAccepted"
	case ActionMute:
		return "Mute"
	case ActionUnmute:
		return "Unmute"
	case ActionSetRoom:
		return "SetRoom"
	}
	return fmt.Sprintf("ActionKind(%d)", int(k))
}

// String renders the action compactly, e.g. "Play(enter_pin)" or "SetTimer(5s)".
func (a Action) String() string {
	switch a.Kind {
	case ActionPlay:
		return fmt.Sprintf("Play(%s)", a.Prompt)
	case ActionSetTimer:
		return fmt.Sprintf("SetTimer(%v)", a.After)
	case ActionSetRoom:
		return fmt.Sprintf("SetRoom(%s)", a.Room.Slug)
	case ActionJoin:
		if a.Moderator {
			return "Join(moderator)"
		}
	}
	return a.Kind.String()
}
