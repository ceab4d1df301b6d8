// Package sip answers phone calls from SIP trunks and turns them into room
// participants.
//
// It owns the SIP side of a call (sipgo): which trunks may call (source
// CIDRs, digest 407, loopback, 403 or silent drop: trunk.go, auth.go),
// registration with carriers (register.go), SIP over UDP, TCP and TLS
// (tls.go: the TLS listener, Contacts that keep a TLS dialog on TLS,
// REGISTER over TLS), header checks,
// INVITE/ACK/BYE/CANCEL/OPTIONS/INFO/UPDATE, re-INVITE and UPDATE for hold,
// resume and media changes (reinvite.go), late offer (lateoffer.go), RFC
// 4028 session timers (sessiontimer.go), concurrent call limits; SDP
// offer/answer for G.711 plus RFC 4733 telephone-event, as plain RTP or as
// SRTP keyed by SDES (sdes.go: a=crypto parsing, per-trunk SRTP mode, keys
// kept or renewed on re-INVITE, never logged); one RTP socket per
// call with its RTCP socket above it (symmetric RTP locked against
// hijacking, G.711 µ-law/A-law, sender/receiver reports); DTMF by RFC 4733,
// SIP INFO and in-band tones (dtmf.go, info.go, inband.go), each key
// reported once; prompt playback, also over the room's audio after Join
// (*6 mute, *0 help); and PIN failure throttling across calls
// (pinguard.go, with dialplan.Throttle). It drives the dialplan IVR with
// the digits it hears.
//
// It does not decide what a number or a PIN means (package dialplan), and it
// does not mix audio (package mixer): on the IVR's Join action the call's media
// leg is handed to a Bridge that cmd/dialroom wires to the mixer.
package sip
