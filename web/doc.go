// Package web is dialroom's HTTP front: the start page, the room page, the
// embedded browser client (static/, ES modules, no build step) and the
// WebSocket signalling that connects a browser to a room in package sfu.
//
// It does not own rooms (package dialplan stores them; web only looks them
// up through RoomLookup) or media (package sfu). The wire protocol is in
// docs/protocol.md; messages.go holds one struct per message type.
package web
