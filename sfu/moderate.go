package sfu

import (
	"errors"
	"strings"
)

// Roles of a participant.
const (
	RoleModerator   = "moderator"
	RoleParticipant = "participant"
)

// Errors of moderator actions and joins.
var (
	ErrNotModerator  = errors.New("sfu: only moderators may do that")
	ErrNoParticipant = errors.New("sfu: no such participant")
	ErrLocked        = errors.New("sfu: room is locked")
)

// Control types sent to a browser through Signaller.Control.
const (
	ControlMute    = "mute"    // a moderator muted you: mute the microphone
	ControlRemoved = "removed" // a moderator removed you; the room has let you go
	ControlEnded   = "ended"   // a moderator ended the meeting for everyone
)

// Control is something a moderator did to one browser participant.
type Control struct {
	Type string `json:"type"` // ControlMute, ControlRemoved or ControlEnded
	By   string `json:"by"`   // the moderator's display name
}

// ModerationEvent is one moderator action, reported to Config.OnModeration
// for the audit log. Actions of the admin console (AdminActor) are not
// reported: the admin API records them with the admin's identity.
type ModerationEvent struct {
	Room   string // room ID
	By     string // the moderator's display name
	Action string // mute, mute_all, remove, rename, set_role, lower_hand, lock, unlock, end, mute_lock, mute_unlock,
	// lobby_admitted, lobby_denied
	Target string // the target's display name (a phone's is its masked label); "" for the whole room
	Detail string // set_role: the new role
}

// reportModeration tells the hook about a moderator's action. Called
// without r.mu held.
func (r *Room) reportModeration(actor, by, action, target, detail string) {
	if actor == AdminActor || r.m == nil || r.m.onModeration == nil {
		return
	}
	r.m.onModeration(ModerationEvent{Room: r.id, By: by, Action: action, Target: target, Detail: detail})
}

// memberName returns id's display name, "" when it is gone.
func (r *Room) memberName(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.members[id]; ok {
		return m.Name
	}
	return ""
}

// Participants returns the room's roster entries (a copy).
func (r *Room) Participants() []Participant { return r.Roster().Participants }

// checkActorLocked returns the actor's member if it is a moderator.
func (r *Room) checkActorLocked(actor string) (*member, error) {
	m, ok := r.members[actor]
	if !ok {
		return nil, ErrNoParticipant
	}
	if m.Role != RoleModerator {
		return nil, ErrNotModerator
	}
	return m, nil
}

// actorNameLocked returns the name moderation messages show for actor:
// "admin" for the admin console, else the moderator's name.
func (r *Room) actorNameLocked(actor string) (string, error) {
	if actor == AdminActor {
		return "admin", nil
	}
	a, err := r.checkActorLocked(actor)
	if err != nil {
		return "", err
	}
	return a.Name, nil
}

// target looks up actor (who must be a moderator unless actor == AdminActor)
// and target; it returns the actor's name and a copy of the target.
func (r *Room) target(actor, target string) (by string, t *member, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if by, err = r.actorNameLocked(actor); err != nil {
		return "", nil, err
	}
	t, ok := r.members[target]
	if !ok {
		return "", nil, ErrNoParticipant
	}
	return by, t, nil
}

// AdminActor is the actor ID the server's own admin uses; it acts as a
// moderator of every room without being a participant.
const AdminActor = "admin"

// Mute mutes target on behalf of moderator actor. A browser is told to mute
// its microphone (it may unmute itself later); a phone's owner stops its audio.
func (r *Room) Mute(actor, target string) error {
	by, t, err := r.target(actor, target)
	if err != nil {
		return err
	}
	name := r.memberName(target)
	r.muteMember(by, t)
	r.reportModeration(actor, by, "mute", name, "")
	return nil
}

func (r *Room) muteMember(by string, t *member) {
	r.update(t.ID, func(p *Participant) bool {
		changed := !p.Muted
		p.Muted = true
		return changed
	})
	switch {
	case t.peer != nil:
		t.peer.sig.Control(Control{Type: ControlMute, By: by})
	case t.phone != nil:
		if o := t.phone.getOwner(); o != nil {
			o.SetMuted(true)
		}
	}
}

// MuteAll mutes every participant except actor.
func (r *Room) MuteAll(actor string) error {
	r.mu.Lock()
	by, err := r.actorNameLocked(actor)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	var ts []*member
	for id, m := range r.members {
		if id != actor {
			ts = append(ts, m)
		}
	}
	r.mu.Unlock()
	for _, t := range ts {
		r.muteMember(by, t)
	}
	r.reportModeration(actor, by, "mute_all", "", "")
	return nil
}

// Rename gives target a new display name; participants may rename
// themselves, moderators anyone.
func (r *Room) Rename(actor, target, name string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return errors.New("sfu: rename: empty name")
	}
	var by, old string
	if actor != target {
		b, _, err := r.target(actor, target)
		if err != nil {
			return err
		}
		by, old = b, r.memberName(target)
	}
	found := false
	r.update(target, func(p *Participant) bool {
		found = true
		changed := p.Name != name
		p.Name = name
		return changed
	})
	if !found {
		return ErrNoParticipant
	}
	if actor != target {
		r.reportModeration(actor, by, "rename", old, "")
	}
	return nil
}

// SetRole makes target a moderator or a participant.
func (r *Room) SetRole(actor, target, role string) error {
	if role != RoleModerator && role != RoleParticipant {
		return errors.New("sfu: set role: unknown role")
	}
	by, _, err := r.target(actor, target)
	if err != nil {
		return err
	}
	r.update(target, func(p *Participant) bool {
		changed := p.Role != role
		p.Role = role
		return changed
	})
	r.reportModeration(actor, by, "set_role", r.memberName(target), role)
	return nil
}

// LowerHand lowers target's raised hand.
func (r *Room) LowerHand(actor, target string) error {
	if actor != target {
		by, _, err := r.target(actor, target)
		if err != nil {
			return err
		}
		defer r.reportModeration(actor, by, "lower_hand", r.memberName(target), "")
	}
	r.update(target, func(p *Participant) bool {
		changed := p.Hand
		p.Hand = false
		return changed
	})
	return nil
}

// Remove takes target out of the meeting: a browser is told and let go, a
// phone's owner hangs up (without an owner the tile is removed).
func (r *Room) Remove(actor, target string) error {
	by, t, err := r.target(actor, target)
	if err != nil {
		return err
	}
	name := r.memberName(target)
	r.removeMemberAs(t, Control{Type: ControlRemoved, By: by})
	r.reportModeration(actor, by, "remove", name, "")
	return nil
}

func (r *Room) removeMemberAs(t *member, c Control) {
	switch {
	case t.peer != nil:
		t.peer.sig.Control(c)
		t.peer.Leave()
	case t.phone != nil:
		o := t.phone.getOwner()
		switch {
		case o != nil && c.Type == ControlEnded:
			o.End()
		case o != nil:
			o.Remove()
		default:
			t.phone.Leave()
		}
	}
}

// Lock locks (only moderators may join) or unlocks the room.
func (r *Room) Lock(actor string, locked bool) error {
	r.mu.Lock()
	by := "admin"
	if actor != AdminActor {
		a, err := r.checkActorLocked(actor)
		if err != nil {
			r.mu.Unlock()
			return err
		}
		by = a.Name
	}
	if r.locked == locked {
		r.mu.Unlock()
		return nil
	}
	r.locked = locked
	r.rev++
	ro := r.rosterLocked()
	r.mu.Unlock()
	r.broadcast(ro)
	action := "unlock"
	if locked {
		action = "lock"
	}
	r.reportModeration(actor, by, action, "", "")
	return nil
}

// End ends the meeting: every participant is let go (phones hung up), and the
// room forgets its lock and chat history.
func (r *Room) End(actor string) error {
	r.mu.Lock()
	by, err := r.actorNameLocked(actor)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	ts := make([]*member, 0, len(r.members))
	for _, m := range r.members {
		ts = append(ts, m)
	}
	r.locked = false
	r.history = nil
	r.mu.Unlock()
	r.log.Info("meeting ended by moderator")
	for _, t := range ts {
		r.removeMemberAs(t, Control{Type: ControlEnded, By: by})
	}
	r.reportModeration(actor, by, "end", "", "")
	return nil
}

// MuteLock mutes target and locks the mute (locked true), or lifts the lock
// (locked false), on behalf of moderator actor. While locked, the target
// cannot unmute itself: the web handler asks MuteLocked, a phone's owner
// that implements MuteLocker refuses *6. Lifting the lock leaves the
// participant muted; it may then unmute itself.
func (r *Room) MuteLock(actor, target string, locked bool) error {
	by, t, err := r.target(actor, target)
	if err != nil {
		return err
	}
	r.update(t.ID, func(p *Participant) bool {
		changed := p.MuteLocked != locked
		p.MuteLocked = locked
		return changed
	})
	if t.phone != nil {
		if l, ok := t.phone.getOwner().(MuteLocker); ok {
			l.SetMuteLocked(locked)
		}
	}
	if locked {
		r.muteMember(by, t)
	}
	action := "mute_unlock"
	if locked {
		action = "mute_lock"
	}
	r.reportModeration(actor, by, action, r.memberName(target), "")
	return nil
}

// MuteLocked reports whether a moderator locked id's mute.
func (r *Room) MuteLocked(id string) bool {
	for _, p := range r.Participants() {
		if p.ID == id {
			return p.MuteLocked
		}
	}
	return false
}
