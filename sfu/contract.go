package sfu

import "github.com/pion/rtp"

// PhoneInfo describes a participant whose audio comes from the mixer (a phone
// caller) rather than from a PeerConnection.
type PhoneInfo struct {
	ID    string // unique participant ID
	Label string // masked number or "Unknown caller"
}

// AudioSink receives every RTP packet of every browser audio track in a room.
// OnAudio is called from the track's reader goroutine: it must not block and must
// not keep pkt after it returns.
type AudioSink interface {
	OnAudio(participantID string, pkt *rtp.Packet)
}
