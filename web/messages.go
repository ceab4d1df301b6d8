package web

import "dialroom/sfu"

// Every WebSocket message is one JSON object with a "type" field; see
// docs/protocol.md. One struct per message type follows.

// envelope is decoded first to pick the handler.
type envelope struct {
	Type string `json:"type"`
}

// Client to server.

// joinMsg asks to join a room under a display name.
type joinMsg struct {
	Type string `json:"type"`          // "join"
	Room string `json:"room"`          // room slug
	Name string `json:"name"`          // display name, 1-64 characters
	Mod  string `json:"mod,omitempty"` // moderator token from the ?mod= link
}

// answerMsg answers the server's last offer.
type answerMsg struct {
	Type string `json:"type"` // "answer"
	SDP  string `json:"sdp"`
}

// candidateMsg trickles one of the browser's ICE candidates.
type candidateMsg struct {
	Type      string       `json:"type"` // "candidate"
	Candidate iceCandidate `json:"candidate"`
}

// iceCandidate is RTCIceCandidateInit.
type iceCandidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// muteMsg tells the room whether the browser's microphone is muted.
type muteMsg struct {
	Type  string `json:"type"` // "mute"
	Muted bool   `json:"muted"`
}

// restartICEMsg asks for an offer with new ICE credentials after the
// browser lost its connection (its network changed). While another offer
// is out the server ignores it; the browser asks again.
type restartICEMsg struct {
	Type string `json:"type"` // "restart_ice"
}

// leaveMsg leaves the room; the server then closes the connection.
type leaveMsg struct {
	Type string `json:"type"` // "leave"
}

// Server to client.

// joinedMsg confirms a join and tells the browser its participant ID.
type joinedMsg struct {
	Type         string            `json:"type"` // "joined"
	ID           string            `json:"id"`
	Room         roomInfo          `json:"room"`
	Rev          uint64            `json:"rev"`
	Participants []participantView `json:"participants"`
	Locked       bool              `json:"locked"`
	Role         string            `json:"role"`    // sfu.RoleModerator or sfu.RoleParticipant
	History      []sfu.ChatMessage `json:"history"` // recent room chat, oldest first
}

// roomInfo names the room.
type roomInfo struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// offerMsg carries an SDP offer with all server ICE candidates included.
type offerMsg struct {
	Type string `json:"type"` // "offer"
	SDP  string `json:"sdp"`
	// ICEServers are the TURN servers, with fresh time-limited
	// credentials, that the browser sets before answering; absent when
	// the server has none.
	ICEServers []iceServer `json:"iceServers,omitempty"`
}

// iceServer is RTCIceServer.
type iceServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// rosterMsg is the full participant list; keep the one with the highest rev.
type rosterMsg struct {
	Type         string            `json:"type"` // "roster"
	Rev          uint64            `json:"rev"`
	Participants []participantView `json:"participants"`
	Locked       bool              `json:"locked"`
}

// speakingMsg says a phone participant started or stopped speaking.
type speakingMsg struct {
	Type     string `json:"type"` // "speaking"
	ID       string `json:"id"`
	Speaking bool   `json:"speaking"`
}

// errorMsg reports a rejected message; the connection stays usable unless
// the code is fatal (see docs/protocol.md).
type errorMsg struct {
	Type    string `json:"type"` // "error"
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes sent in errorMsg.
const (
	codeBadMessage    = "bad_message"    // not JSON, unknown type, or a missing/invalid field
	codeRoomNotFound  = "room_not_found" // join: no such room
	codeInvalidName   = "invalid_name"   // join: empty, too long, or control characters
	codeAlreadyJoined = "already_joined" // join sent twice
	codeNotJoined     = "not_joined"     // answer/candidate/mute before join
	codeNegotiation   = "negotiation"    // answer or candidate rejected by WebRTC
	codeInternal      = "internal"       // server-side failure
	codeForbidden     = "forbidden"      // moderate: only moderators may do that
	codeNoParticipant = "no_participant" // chat/moderate: no such participant
	codeRoomLocked    = "room_locked"    // join: the room is locked (fatal)
	codeBadChat       = "bad_chat"       // chat: text empty or over 2000 characters
	codeMuteLocked    = "mute_locked"    // mute: a moderator locked your mute
)
