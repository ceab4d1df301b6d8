package web

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pion/webrtc/v4"

	"dialroom/dialplan"
	"dialroom/sfu"
)

// errLeave ends the reader after a leave message.
var errLeave = errors.New("leave")

// maxNameRunes bounds a display name.
const maxNameRunes = 64

// handler returns the handler of one client message type.
func handler(msgType string) (func(c *conn, data []byte) error, bool) {
	switch msgType {
	case "join":
		return (*conn).handleJoin, true
	case "answer":
		return (*conn).handleAnswer, true
	case "candidate":
		return (*conn).handleCandidate, true
	case "mute":
		return (*conn).handleMute, true
	case "leave":
		return (*conn).handleLeave, true
	case "chat":
		return (*conn).handleChat, true
	case "hand":
		return (*conn).handleHand, true
	case "moderate":
		return (*conn).handleModerate, true
	case "share":
		return (*conn).handleShare, true
	case "restart_ice":
		return (*conn).handleRestartICE, true
	case "admit":
		return (*conn).handleAdmit, true // lobby.go
	case "deny":
		return (*conn).handleDeny, true
	}
	return nil, false
}

// dispatch decodes one message and runs its handler. Every failure becomes an
// error message; only errLeave is returned.
func (c *conn) dispatch(data []byte) error {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		c.sendError(codeBadMessage, "not a JSON object")
		return nil
	}
	h, ok := handler(env.Type)
	if !ok {
		c.sendError(codeBadMessage, "unknown message type")
		return nil
	}
	return h(c, data)
}

// decode unmarshals data into v, reporting a bad_message on failure.
func (c *conn) decode(data []byte, v any) bool {
	if err := json.Unmarshal(data, v); err != nil {
		c.sendError(codeBadMessage, "malformed message")
		return false
	}
	return true
}

func (c *conn) handleJoin(data []byte) error {
	var m joinMsg
	if !c.decode(data, &m) {
		return nil
	}
	if c.peer != nil {
		c.sendError(codeAlreadyJoined, "already joined")
		return nil
	}
	if c.lobbyID != "" {
		c.joinAdmitted(m) // lobby.go
		return nil
	}
	name, ok := cleanName(m.Name)
	if !ok {
		c.sendError(codeInvalidName, "name must be 1 to 64 printable characters")
		return nil
	}
	room, err := c.s.lookup(c.ctx, m.Room)
	if errors.Is(err, dialplan.ErrNotFound) {
		c.sendError(codeRoomNotFound, "no such room")
		return nil
	}
	if err != nil {
		c.log.Error("join: lookup room", "room", m.Room, "err", err)
		c.sendError(codeInternal, "room lookup failed")
		return nil
	}
	role, refused := c.s.joinRole(c.ctx, room.Slug, m.Mod, c.sessionID) // modtoken.go
	if refused != nil {
		c.sendError(refused.code, refused.msg)
		return nil
	}
	if role == sfu.RoleParticipant {
		wait, refused := c.s.mustWait(c.ctx, room.Slug, m.Mod, c.sessionID) // lobby.go
		if refused != nil {
			c.sendError(refused.code, refused.msg)
			return nil
		}
		if wait {
			c.wait(room.Slug, name)
			return nil
		}
	}
	c.enter(room, name, role)
	return nil
}

// enter joins the room under name with role and confirms with joined.
func (c *conn) enter(room dialplan.Room, name, role string) {
	r := c.s.sfu.Room(room.Slug)
	peer, err := r.JoinAs(sfu.JoinOptions{Name: name, Role: role, OnID: func(id string) { c.selfID.Store(id) }}, c)
	if errors.Is(err, sfu.ErrLocked) {
		c.sendError(codeRoomLocked, "the room is locked")
		c.closeAfterQueue()
		return
	}
	if err != nil {
		c.log.Error("join", "room", room.Slug, "err", err)
		c.sendError(codeInternal, "could not join")
		return
	}
	c.peer, c.room = peer, room.Slug
	c.log = c.log.With("room", room.Slug, "participant", peer.ID())
	ro := r.Roster()
	c.enqueue(joinedMsg{Type: "joined", ID: peer.ID(), Room: roomInfo{Slug: room.Slug, Name: room.Name},
		Rev: ro.Rev, Participants: c.participantsFor(ro.Participants), Locked: ro.Locked, Role: role, History: r.ChatHistory()}, true)
}

// cleanName trims a display name and checks its length and characters.
func cleanName(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxNameRunes {
		return "", false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", false
		}
	}
	return s, true
}

func (c *conn) handleAnswer(data []byte) error {
	var m answerMsg
	if !c.decode(data, &m) || !c.joined() {
		return nil
	}
	if m.SDP == "" {
		c.sendError(codeBadMessage, "answer without sdp")
		return nil
	}
	if err := c.peer.Answer(m.SDP); err != nil {
		c.log.Debug("answer rejected", "err", err)
		c.sendError(codeNegotiation, "answer rejected")
	}
	return nil
}

func (c *conn) handleCandidate(data []byte) error {
	var m candidateMsg
	if !c.decode(data, &m) || !c.joined() {
		return nil
	}
	if m.Candidate.Candidate == "" {
		return nil // end of candidates
	}
	err := c.peer.AddCandidate(webrtc.ICECandidateInit{Candidate: m.Candidate.Candidate,
		SDPMid: m.Candidate.SDPMid, SDPMLineIndex: m.Candidate.SDPMLineIndex,
		UsernameFragment: m.Candidate.UsernameFragment})
	if err != nil {
		c.log.Debug("candidate rejected", "err", err)
		c.sendError(codeNegotiation, "candidate rejected")
	}
	return nil
}

func (c *conn) handleMute(data []byte) error {
	var m muteMsg
	if !c.decode(data, &m) || !c.joined() {
		return nil
	}
	if !m.Muted && c.s.sfu.Room(c.room).MuteLocked(c.peer.ID()) {
		c.sendError(codeMuteLocked, "a moderator locked your mute")
		return nil
	}
	c.peer.SetMuted(m.Muted)
	return nil
}

func (c *conn) handleLeave(data []byte) error {
	var m leaveMsg
	if !c.decode(data, &m) {
		return nil
	}
	return errLeave
}

// joined reports whether the client has joined, sending not_joined if not.
func (c *conn) joined() bool {
	if c.peer == nil {
		c.sendError(codeNotJoined, "join first")
		return false
	}
	return true
}
