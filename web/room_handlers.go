package web

import (
	"errors"

	"dialroom/sfu"
)

func (c *conn) handleChat(data []byte) error {
	var m chatSendMsg
	if !c.decode(data, &m) || !c.joined() {
		return nil
	}
	_, err := c.s.sfu.Room(c.room).Chat(c.peer.ID(), m.To, m.Text)
	c.sendActionError(err)
	return nil
}

func (c *conn) handleHand(data []byte) error {
	var m handMsg
	if !c.decode(data, &m) || !c.joined() {
		return nil
	}
	c.peer.SetHand(m.Raised)
	return nil
}

func (c *conn) handleShare(data []byte) error {
	var m shareMsg
	if !c.decode(data, &m) || !c.joined() {
		return nil
	}
	c.peer.SetSharing(m.On)
	return nil
}

func (c *conn) handleModerate(data []byte) error {
	var m moderateMsg
	if !c.decode(data, &m) || !c.joined() {
		return nil
	}
	r, me := c.s.sfu.Room(c.room), c.peer.ID()
	var err error
	switch m.Action {
	case modMute:
		err = r.Mute(me, m.Target)
	case modMuteAll:
		err = r.MuteAll(me)
	case modRename:
		name, ok := cleanName(m.Name)
		if !ok {
			c.sendError(codeInvalidName, "name must be 1 to 64 printable characters")
			return nil
		}
		err = r.Rename(me, m.Target, name)
	case modRemove:
		err = r.Remove(me, m.Target)
	case modMakeModerator:
		err = r.SetRole(me, m.Target, sfu.RoleModerator)
	case modLowerHand:
		err = r.LowerHand(me, m.Target)
	case modLock, modUnlock:
		err = r.Lock(me, m.Action == modLock)
	case modEnd:
		err = r.End(me)
	case modMuteLock, modMuteUnlock:
		err = r.MuteLock(me, m.Target, m.Action == modMuteLock)
	default:
		c.sendError(codeBadMessage, "unknown action")
		return nil
	}
	if err == nil && m.Action != modLowerHand && m.Target != me {
		c.log.Info("moderator action", "action", m.Action, "target", m.Target)
	}
	c.sendActionError(err)
	return nil
}

// sendActionError reports a failed chat or moderator action.
func (c *conn) sendActionError(err error) {
	switch {
	case err == nil:
	case errors.Is(err, sfu.ErrNotModerator):
		c.sendError(codeForbidden, "only moderators may do that")
	case errors.Is(err, sfu.ErrNoParticipant):
		c.sendError(codeNoParticipant, "no such participant")
	case errors.Is(err, sfu.ErrBadChat):
		c.sendError(codeBadChat, "chat text must be 1 to 2000 characters")
	default:
		c.log.Debug("action failed", "err", err)
		c.sendError(codeBadMessage, "action failed")
	}
}

// Chat implements sfu.Signaller.
func (c *conn) Chat(m sfu.ChatMessage) {
	c.enqueue(chatMsg{Type: "chat", ChatMessage: m}, false)
}

// Control implements sfu.Signaller. After removed or ended the connection
// closes once the message is written.
func (c *conn) Control(ctl sfu.Control) {
	c.enqueue(controlMsg{Type: "control", Action: ctl.Type, By: ctl.By}, true)
	if ctl.Type == sfu.ControlRemoved || ctl.Type == sfu.ControlEnded {
		c.closeAfterQueue()
	}
}
