// Package loadtest drives a running dialroom server with many phone callers
// and measures what a listener would notice: call setup time, packet loss,
// jitter and the mouth-to-ear delay through the bridge, plus the server's CPU
// and memory from /proc. It is the engine of `dialroom load`.
//
// Every caller is real SIP (sipgo, UDP) and RTP (G.711 µ-law, 20 ms) from this
// process: it dials the room's number, types the PIN as RFC 4733 events, then
// speaks. Caller 0 is the "mouth": once everyone is in, it sends a 1 kHz tone
// burst every second; every other caller is an "ear" that finds the burst's
// onset in what it hears. The delay of one burst at one ear is
//
//	(arrival of the packet with the onset + onset offset in it)
//	  - (send time of the mouth's packet with the burst start + its offset)
//
// so it covers the network and the bridge (jitter buffer, mixing tick, encode)
// but not the callers' own packetisation or playout buffers. Listeners send
// line noise (about -60 dBov) or, with Signal "speech", a quiet speech-like
// babble below the talker threshold, so the mouth stays the loudest talker.
//
// RunWebRTC does the same for browser participants (webrtc*.go): pion
// PeerConnections that join over the server's WebSocket signalling, publish
// Opus and a synthetic VP8 camera (vp8.go; simulcast when the server asks),
// ask for everyone's video as tiles, and count what they receive.
// Participant 0 is the browser mouth: real Opus (libopus) with 2 kHz bursts
// half a period after the phone mouth's, and the real level of each frame
// in its RFC 6464 header; participants 1..10 are ears that decode every
// audio track (webrtc_audio.go). The phone callers hear for 2 kHz too. A
// Markers shared by both runs (markers.go) schedules the bursts on one
// clock and reports the delay phone->phone, phone->browser, browser->phone
// and browser->browser. 1 and 2 kHz make whole cycles in the detectors'
// 5 ms blocks at 8 and 48 kHz, so an ear tells the two mouths apart.
//
// Capped participants receive through a thin line emulated in this process
// (webrtc_shape.go: rate, buffer, tail drop, from the kernel's arrival
// stamps). A capped-only run (WebRTCConfig.CappedOnly) holds only such
// participants and joins a room another run fills, so that a process of
// its own, scheduled ahead of the crowd, emulates their lines.
//
// The package talks only to the address it is given; the command restricts
// that to loopback. It runs no server code: of dialroom it uses only the
// mixer's resamplers and internal/g722, for wideband callers.
package loadtest
