package sip

import (
	"errors"
	"fmt"
)

// ErrShortDTMF means an RFC 4733 payload is shorter than its 4-byte event block.
var ErrShortDTMF = errors.New("sip: telephone-event payload shorter than 4 bytes")

// DTMFEvent is one RFC 4733 §2.3 named-event block.
type DTMFEvent struct {
	Event    uint8  // 0-9, 10 '*', 11 '#', 12-15 'A'-'D', 16 flash
	End      bool   // E bit: the event has ended
	Volume   uint8  // power level, 0 to -63 dBm0 (6 bits)
	Duration uint16 // in timestamp units since the event's start
}

// ParseDTMF parses the first event block of an RFC 4733 payload. Further
// blocks (RFC 4733 §2.5.1.5 multiple events in one packet) are ignored.
func ParseDTMF(payload []byte) (DTMFEvent, error) {
	if len(payload) < 4 {
		return DTMFEvent{}, fmt.Errorf("parse dtmf (%d bytes): %w", len(payload), ErrShortDTMF)
	}
	return DTMFEvent{
		Event:    payload[0],
		End:      payload[1]&0x80 != 0,
		Volume:   payload[1] & 0x3F,
		Duration: uint16(payload[2])<<8 | uint16(payload[3]),
	}, nil
}

// Digit returns the keypad character of the event, or 0 if it is not one.
func (e DTMFEvent) Digit() byte {
	const keys = "0123456789*#ABCD"
	if int(e.Event) < len(keys) {
		return keys[e.Event]
	}
	return 0
}

// dtmfState is what the detector remembers about the last event of one SSRC.
type dtmfState struct {
	ts       uint32
	event    uint8
	ended    bool
	duration uint16
}

// maxDTMFSources bounds the per-SSRC memory; a peer that changes SSRC more
// often than this only risks one duplicate digit.
const maxDTMFSources = 8

// dtmfDetector turns a stream of RFC 4733 packets into digits, each reported
// exactly once. It keys events on SSRC and RTP timestamp (RFC 4733 §2.5.1.3:
// all packets of one event share the start timestamp) and does not need the
// marker bit, so it copes with a lost start, missing or repeated markers and
// the three redundant end packets. Senders that advance the timestamp within
// one event are treated as continuing it while the event code stays the same,
// the duration does not fall and no end was seen. Not safe for concurrent use.
type dtmfDetector struct {
	last map[uint32]dtmfState
}

func newDTMFDetector() *dtmfDetector {
	return &dtmfDetector{last: make(map[uint32]dtmfState, 2)}
}

// Packet feeds one telephone-event payload and returns the digit it starts,
// or 0 when it continues or repeats an event already reported.
func (d *dtmfDetector) Packet(ssrc, ts uint32, payload []byte) byte {
	ev, err := ParseDTMF(payload)
	if err != nil || ev.Digit() == 0 {
		return 0
	}
	prev, seen := d.last[ssrc]
	next := dtmfState{ts: ts, event: ev.Event, ended: ev.End, duration: ev.Duration}
	if seen && sameDTMFEvent(prev, next) {
		next.ended = prev.ended || ev.End
		next.duration = max(prev.duration, ev.Duration)
		d.last[ssrc] = next
		return 0
	}
	if !seen && len(d.last) >= maxDTMFSources {
		clear(d.last)
	}
	d.last[ssrc] = next
	return ev.Digit()
}

func sameDTMFEvent(prev, next dtmfState) bool {
	if prev.event != next.event {
		return false
	}
	if prev.ts == next.ts {
		return true
	}
	if !prev.ended {
		// Same key, no end yet: a sender moving the timestamp per packet.
		return next.duration >= prev.duration
	}
	// A redundant end packet of a sender moving the timestamp.
	return next.ended && next.duration >= prev.duration
}
