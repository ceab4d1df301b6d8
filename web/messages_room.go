package web

import "dialroom/sfu"

// Messages for chat, raised hands and moderation; see docs/protocol.md.

// chatSendMsg sends a chat message to the room (To == "") or to one
// participant.
type chatSendMsg struct {
	Type string `json:"type"` // "chat"
	To   string `json:"to,omitempty"`
	Text string `json:"text"`
}

// handMsg raises or lowers the sender's hand.
type handMsg struct {
	Type   string `json:"type"` // "hand"
	Raised bool   `json:"raised"`
}

// shareMsg says the browser now sends its screen (On) or its camera again
// in place of its camera track.
type shareMsg struct {
	Type string `json:"type"` // "share"
	On   bool   `json:"on"`
}

// moderateMsg asks for a moderator action. Action is one of the mod*
// constants; Target is a participant ID (not needed for mute_all, lock,
// unlock, end); Name is the new name for rename.
type moderateMsg struct {
	Type   string `json:"type"` // "moderate"
	Action string `json:"action"`
	Target string `json:"target,omitempty"`
	Name   string `json:"name,omitempty"`
}

// Moderator actions.
const (
	modMute          = "mute"
	modMuteAll       = "mute_all"
	modRename        = "rename" // also allowed on oneself
	modRemove        = "remove"
	modMakeModerator = "make_moderator"
	modLowerHand     = "lower_hand" // also allowed on oneself
	modLock          = "lock"
	modUnlock        = "unlock"
	modEnd           = "end"
	modMuteLock      = "mute_lock"   // mute the target and keep it from unmuting itself
	modMuteUnlock    = "mute_unlock" // lift the lock; the target stays muted
)

// chatMsg delivers one chat message.
type chatMsg struct {
	Type string `json:"type"` // "chat"
	sfu.ChatMessage
}

// controlMsg tells the browser what a moderator did to it. After "removed"
// and "ended" the server closes the connection.
type controlMsg struct {
	Type   string `json:"type"`   // "control"
	Action string `json:"action"` // "mute", "removed" or "ended"
	By     string `json:"by"`     // the moderator's display name
}
