// Package sfu owns the WebRTC side of dialroom's meeting rooms: one pion
// PeerConnection per browser participant, forwarding of every inbound RTP
// stream to the other participants, phone participants whose Opus audio the
// mixer writes, and the room roster (who is present, who is speaking).
//
// It does not own signalling transport (package web carries the messages
// through a Signaller), SIP, or mixing (package mixer attaches phone calls
// through AddPhone and AddAudioSink).
package sfu
