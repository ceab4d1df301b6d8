package main

import (
	"errors"
	"fmt"

	"dialroom/mixer"
	"dialroom/sfu"
	"dialroom/sip"
)

// joinPhone puts a phone leg into room's mix. A locked room gives an error
// wrapping sip.ErrRoomLocked (the caller is told so); the membership
// reports whether the room was empty before (sip plays "you are the first
// participant") and the room's size (sip's join/leave tones).
func joinPhone(m *mixer.Mixer, rooms *sfu.Manager, room string, info mixer.PhoneInfo, leg mixer.Leg) (sip.Membership, error) {
	r := rooms.Room(room)
	first := len(r.Participants()) == 0
	mem, err := m.Join(room, info, leg)
	if errors.Is(err, sfu.ErrLocked) {
		return nil, fmt.Errorf("%w: %w", sip.ErrRoomLocked, err)
	}
	if err != nil {
		return nil, err
	}
	return phoneMember{Member: mem, room: r, first: first}, nil
}

// phoneMember is a mixer membership that knows whether its caller came
// into an empty room and how many are in the room now (join/leave tones).
type phoneMember struct {
	*mixer.Member
	room  *sfu.Room
	first bool
}

// FirstInRoom reports whether the room was empty when the caller joined.
func (p phoneMember) FirstInRoom() bool { return p.first }

// RoomSize is the number of participants in the room, the caller included.
func (p phoneMember) RoomSize() int { return p.room.Size() }
