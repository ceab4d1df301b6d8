// Package sip answers phone calls from SIP trunks and turns them into room
// participants.
//
// It owns the SIP side of a call (sipgo: header checks, INVITE/ACK/BYE/CANCEL,
// OPTIONS), SDP offer/answer for G.711 plus RFC 4733 telephone-event, one RTP
// socket per call (symmetric RTP, G.711 µ-law/A-law), DTMF detection, prompt
// playback, and it drives the dialplan IVR with the digits it hears.
//
// It does not decide what a number or a PIN means (package dialplan), and it
// does not mix audio (package mixer): on the IVR's Join action the call's media
// leg is handed to a Bridge that cmd/dialroom wires to the mixer.
package sip
