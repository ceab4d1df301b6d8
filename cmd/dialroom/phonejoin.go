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
// participant").
func joinPhone(m *mixer.Mixer, rooms *sfu.Manager, room string, info mixer.PhoneInfo, leg mixer.Leg) (sip.Membership, error) {
	first := len(rooms.Room(room).Participants()) == 0
	mem, err := m.Join(room, info, leg)
	if errors.Is(err, sfu.ErrLocked) {
		return nil, fmt.Errorf("%w: %w", sip.ErrRoomLocked, err)
	}
	if err != nil {
		return nil, err
	}
	return firstMember{Member: mem, first: first}, nil
}

// firstMember is a mixer membership that knows whether its caller came
// into an empty room.
type firstMember struct {
	*mixer.Member
	first bool
}

// FirstInRoom reports whether the room was empty when the caller joined.
func (f firstMember) FirstInRoom() bool { return f.first }
