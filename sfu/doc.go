// Package sfu owns the WebRTC side of dialroom's meeting rooms: one pion
// PeerConnection per browser participant, forwarding of every inbound RTP
// stream to the other participants, phone participants whose Opus audio the
// mixer writes, and the room roster (who is present, who is speaking).
//
// Cameras arrive in three simulcast layers (simulcast.go); each subscriber
// gets one layer per camera, chosen by its allocator (allocate.go) from the
// tile sizes its browser reports (media.go), its bandwidth estimate
// (bwe.go) and who spoke last (speaker.go), and nothing for video off its
// screen. Layer switches wait for a keyframe (keyframe.go). A subscriber
// gets a transceiver only for the cameras its view has listed (or, without
// a view, the first 25) and for screen shares (media.go), so a camera
// joining a big room renegotiates only the peers that show it.
//
// How media reaches the server (transport.go, turn.go): optionally one UDP
// port shared by every participant, ICE over TCP, an embedded TURN server
// or an external one whose time-limited credentials browsers get with each
// offer, and ICE restarts when a browser's network changes.
//
// It does not own signalling transport (package web carries the messages
// through a Signaller), SIP, or mixing (package mixer attaches phone calls
// through AddPhone and AddAudioSink).
package sfu
