package sfu

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// Chat limits.
const (
	// ChatHistory is how many room chat messages a room keeps in memory for
	// participants who join later. Private messages are never kept.
	ChatHistory = 100
	// MaxChatRunes bounds the text of one chat message.
	MaxChatRunes = 2000
)

// ErrBadChat is returned for an empty or too long chat message.
var ErrBadChat = errors.New("sfu: chat: text must be 1 to 2000 characters")

// ChatMessage is one chat message as browsers receive it.
type ChatMessage struct {
	Seq      uint64 `json:"seq"`          // grows per room
	From     string `json:"from"`         // sender's participant ID
	FromName string `json:"fromName"`     // sender's display name when sent
	To       string `json:"to,omitempty"` // recipient's ID; "" for the whole room
	Text     string `json:"text"`
	Time     int64  `json:"time"` // Unix milliseconds
}

// Chat sends text from participant from to the whole room (to == "") or
// privately to participant to. Room messages are kept in a bounded history;
// the sender receives its own message too, so every client sees one order.
func (r *Room) Chat(from, to, text string) (ChatMessage, error) {
	text = strings.TrimSpace(text)
	if text == "" || !utf8.ValidString(text) || utf8.RuneCountInString(text) > MaxChatRunes {
		return ChatMessage{}, ErrBadChat
	}
	r.mu.Lock()
	sender, ok := r.members[from]
	if !ok {
		r.mu.Unlock()
		return ChatMessage{}, ErrNoParticipant
	}
	var sigs []Signaller
	if to == "" {
		sigs = r.signallersLocked()
	} else {
		target, ok := r.members[to]
		if !ok || target.peer == nil {
			r.mu.Unlock()
			return ChatMessage{}, ErrNoParticipant
		}
		sigs = append(sigs, target.peer.sig)
		if sender.peer != nil && to != from {
			sigs = append(sigs, sender.peer.sig)
		}
	}
	r.chatSeq++
	m := ChatMessage{Seq: r.chatSeq, From: from, FromName: sender.Name, To: to, Text: text,
		Time: time.Now().UnixMilli()}
	if to == "" {
		r.history = append(r.history, m)
		if len(r.history) > ChatHistory {
			r.history = append(r.history[:0:0], r.history[len(r.history)-ChatHistory:]...)
		}
	}
	r.mu.Unlock()
	for _, s := range sigs {
		s.Chat(m)
	}
	return m, nil
}

// ChatHistory returns a copy of the room's recent chat messages, oldest first.
func (r *Room) ChatHistory() []ChatMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ChatMessage(nil), r.history...)
}

// SetHand raises or lowers the participant's hand and tells everyone.
func (p *Peer) SetHand(raised bool) {
	p.room.update(p.id, func(pt *Participant) bool {
		changed := pt.Hand != raised
		pt.Hand = raised
		return changed
	})
}

// SetSharing records whether the browser sends its screen instead of its
// camera and tells everyone, so that clients can show it large.
func (p *Peer) SetSharing(on bool) {
	p.room.update(p.id, func(pt *Participant) bool {
		changed := pt.Sharing != on
		pt.Sharing = on
		return changed
	})
}
