package web

import (
	"context"
	"errors"

	"dialroom/dialplan"
	"dialroom/sfu"
)

// The lobby of rooms with the access setting "lobby" (docs/protocol.md,
// "Lobby"). An anonymous guest's join puts the connection in the room's
// lobby (sfu.Room.Wait) instead of the room: it gets no PeerConnection,
// roster or chat, only lobby messages. When a moderator admits it, the
// browser sends its join again and enters under the name it waited with.

// lobbyMsg tells a waiting guest about their wait.
type lobbyMsg struct {
	Type  string `json:"type"`  // "lobby"
	State string `json:"state"` // "waiting", "admitted", "denied" or "timeout"
	// Moderator: a moderator is in the room who can admit the guest;
	// without one the guest keeps waiting.
	Moderator bool `json:"moderator"`
}

// lobbyListMsg lists the waiting guests for a moderator; keep the one
// with the highest rev.
type lobbyListMsg struct {
	Type    string           `json:"type"` // "lobby_list"
	Rev     uint64           `json:"rev"`
	Waiting []sfu.LobbyGuest `json:"waiting"`
}

// admitMsg lets one waiting guest (ID) or every waiting guest (All) in.
type admitMsg struct {
	Type string `json:"type"` // "admit"
	ID   string `json:"id,omitempty"`
	All  bool   `json:"all,omitempty"`
}

// denyMsg turns one waiting guest away.
type denyMsg struct {
	Type string `json:"type"` // "deny"
	ID   string `json:"id"`
}

// Lobby error codes sent in errorMsg.
const (
	codeNoGuest   = "no_guest"   // admit/deny: nobody with that ID is waiting
	codeLobbyFull = "lobby_full" // join: too many guests are waiting (fatal)
	codeWaiting   = "waiting"    // join sent again while waiting in the lobby
)

// mustWait reports whether a browser that joins the room slug as a
// participant waits in the lobby: the room's access is lobby and the
// browser has neither a join link nor a session.
func (s *server) mustWait(ctx context.Context, slug, token, sessionID string) (bool, *joinRefusal) {
	if token != "" || s.signedIn(sessionID) {
		return false, nil
	}
	p, err := s.linkPolicy(ctx, slug)
	if err != nil {
		s.log.Error("join: room link policy", "room", slug, "err", err)
		return false, &joinRefusal{codeInternal, "room lookup failed"}
	}
	return p.Access == dialplan.AccessLobby, nil
}

// wait puts the connection in the lobby of the room slug under name.
func (c *conn) wait(slug, name string) {
	id, err := c.s.sfu.Room(slug).Wait(name, c)
	if errors.Is(err, sfu.ErrLobbyFull) {
		c.sendError(codeLobbyFull, "too many people are waiting to enter this room; try again later")
		c.closeAfterQueue()
		return
	}
	if err != nil {
		c.log.Error("lobby", "room", slug, "err", err)
		c.sendError(codeInternal, "could not wait in the lobby")
		return
	}
	c.lobbyID, c.lobbyRoom = id, slug
}

// joinAdmitted handles a join sent while in the lobby: once admitted the
// guest enters the room it waited for, under the name it waited with.
func (c *conn) joinAdmitted(m joinMsg) {
	name, ok := c.s.sfu.Room(c.lobbyRoom).TakeAdmission(c.lobbyID)
	if !ok {
		c.sendError(codeWaiting, "still waiting for a moderator to let you in")
		return
	}
	slug := c.lobbyRoom
	c.lobbyID, c.lobbyRoom = "", ""
	room, err := c.s.lookup(c.ctx, slug)
	if err != nil { // removed meanwhile
		c.sendError(codeRoomNotFound, "no such room")
		return
	}
	c.enter(room, name, sfu.RoleParticipant)
}

// leaveLobby takes the connection out of the lobby when it ends.
func (c *conn) leaveLobby() {
	if c.lobbyID != "" {
		c.s.sfu.Room(c.lobbyRoom).LeaveLobby(c.lobbyID)
	}
}

func (c *conn) handleAdmit(data []byte) error {
	var m admitMsg
	if !c.decode(data, &m) || !c.joined() {
		return nil
	}
	r := c.s.sfu.Room(c.room)
	var err error
	switch {
	case m.All:
		err = r.AdmitAll(c.peer.ID())
	case m.ID != "":
		err = r.Admit(c.peer.ID(), m.ID)
	default:
		c.sendError(codeBadMessage, "admit: id or all required")
		return nil
	}
	c.sendLobbyError(err)
	return nil
}

func (c *conn) handleDeny(data []byte) error {
	var m denyMsg
	if !c.decode(data, &m) || !c.joined() {
		return nil
	}
	if m.ID == "" {
		c.sendError(codeBadMessage, "deny: id required")
		return nil
	}
	c.sendLobbyError(c.s.sfu.Room(c.room).Deny(c.peer.ID(), m.ID))
	return nil
}

// sendLobbyError reports a failed admit or deny.
func (c *conn) sendLobbyError(err error) {
	if errors.Is(err, sfu.ErrNoGuest) {
		c.sendError(codeNoGuest, "nobody with that ID is waiting")
		return
	}
	c.sendActionError(err)
}

// LobbyStatus implements sfu.Waiter. After denied and timeout the
// connection closes once the message is written.
func (c *conn) LobbyStatus(st sfu.LobbyStatus) {
	c.enqueue(lobbyMsg{Type: "lobby", State: st.State, Moderator: st.Moderator}, true)
	if st.State == sfu.LobbyDenied || st.State == sfu.LobbyTimeout {
		c.closeAfterQueue()
	}
}

// Lobby implements sfu.LobbySignaller.
func (c *conn) Lobby(l sfu.LobbyList) {
	c.enqueue(lobbyListMsg{Type: "lobby_list", Rev: l.Rev, Waiting: l.Waiting}, true)
}
