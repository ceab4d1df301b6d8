package web

import "dialroom/sfu"

// participantView is a participant as one browser sees it: Number, the
// full number of a phone caller, is filled in only for the meeting's
// moderators and only when the operator set
// privacy.show_numbers_to_moderators. Everyone else sees the masked label
// in Name and no number at all.
type participantView struct {
	sfu.Participant
	Number string `json:"number,omitempty"`
}

// participantsFor returns ps as c may see them. Whether c is a moderator
// is read from ps itself, so a participant made moderator sees numbers
// from the next roster on, and one demoted stops seeing them.
func (c *conn) participantsFor(ps []sfu.Participant) []participantView {
	out := make([]participantView, len(ps))
	show := c.s.showNumbers && c.isModeratorIn(ps)
	for i, p := range ps {
		out[i].Participant = p
		if show && p.Kind == sfu.KindPhone {
			out[i].Number = p.Number
		}
	}
	return out
}

// isModeratorIn reports whether c's own entry in ps has the moderator role.
func (c *conn) isModeratorIn(ps []sfu.Participant) bool {
	id, _ := c.selfID.Load().(string)
	if id == "" {
		return false
	}
	for _, p := range ps {
		if p.ID == id {
			return p.Role == sfu.RoleModerator
		}
	}
	return false
}
