// Package dialplan owns what an admin configures for phone access and what a
// caller goes through: rooms, phone numbers (DIDs) and PIN hashes, persisted
// in one SQLite file, and the IVR, a pure state machine that turns call
// events (start, digit, prompt finished, timeout) into actions (play, join,
// hang up). It knows nothing of SIP, RTP or WebRTC; the sip package runs the
// IVR and the web package reads rooms. Live state (who is in a room) is not
// kept here.
package dialplan
