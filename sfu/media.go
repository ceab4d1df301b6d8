package sfu

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// MediaSignaller is optionally implemented by a Signaller that carries the
// SFU's media messages (simulcast layers, active speaker) to the browser.
// The room checks for it with a type assertion; like Signaller's methods,
// these must not block.
type MediaSignaller interface {
	// Layers tells a subscriber which layer of each video track it receives.
	Layers(tracks []LayerInfo)
	// Publish tells a publisher which simulcast layers of its camera anyone
	// receives; it should pause the others.
	Publish(p PublishInfo)
	// Speaker tells that the room's dominant speaker changed ("" = nobody).
	Speaker(participantID string)
}

// LayerInfo is the layer one subscriber receives of one participant's video.
type LayerInfo struct {
	ID     string `json:"id"`     // the publishing participant
	Layer  string `json:"layer"`  // "q", "h", "f", or "" when paused (off screen or no bandwidth)
	Width  int    `json:"width"`  // picture size of that layer, 0 when paused
	Height int    `json:"height"` //
}

// PublishInfo lists the simulcast layers (RIDs) a publisher should send.
type PublishInfo struct {
	Layers []string `json:"layers"`
}

// TileView is the size at which a subscriber shows one participant's video,
// in device pixels.
type TileView struct {
	ID     string // the participant shown
	Width  int
	Height int
}

// maxTiles bounds how many tiles one view may list.
const maxTiles = 256

// A subscriber gets a video transceiver (an m-line, a downTrack) for a
// participant's video only when it needs it, so that a camera appearing
// in a big room renegotiates only the peers that show it, and a peer's
// offers do not grow with the room:
//   - a screen share, always (it becomes the main tile);
//   - once the subscriber has sent a view, the cameras of every
//     participant a view of it listed: added when the participant first
//     appears, kept (paused by the allocator) when it scrolls off, so
//     paging back and forth does not renegotiate;
//   - a subscriber that sends no view within viewGrace of its first answer
//     (an old client, a load tool without tiles) gets the first
//     maxDefaultVideo cameras in join order, topped up when one leaves.
//
// Transceivers go when the publisher leaves. The grace lets a browser's
// first view, sent right after it joined, decide its first cameras.
const (
	maxDefaultVideo = 25
	viewGrace       = time.Second
)

// wantsLocked reports whether peer p should have a transceiver for o (see
// maxDefaultVideo). room.mu is held.
func (r *Room) wantsLocked(p *Peer, o *outTrack) bool {
	if o.kind != webrtc.RTPCodecTypeVideo {
		return true // phone audio, and browser audio without audio slots
	}
	if m := r.members[o.owner]; m != nil && m.Sharing {
		return true
	}
	if p.viewed != nil {
		return p.viewed[o.owner]
	}
	return p.defaults && len(p.downs) < maxDefaultVideo
}

// awaitView gives the subscriber the default cameras if it has sent no
// view viewGrace after its first answer.
func (p *Peer) awaitView() {
	t := time.NewTimer(viewGrace)
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.done:
		return
	}
	r := p.room
	r.mu.Lock()
	none := p.viewed == nil
	p.defaults = none
	r.mu.Unlock()
	if none {
		p.syncVideo()
	}
}

// SetView records which participants' video this subscriber shows and how
// large. Video of participants not listed is not sent to it; a participant
// listed for the first time gets a transceiver (one renegotiation of this
// peer only). Until the first SetView, every video it has is sent at a
// middle layer.
func (p *Peer) SetView(tiles []TileView) {
	v := make(map[string]TileView, len(tiles))
	for i, t := range tiles {
		if i == maxTiles {
			break
		}
		v[t.ID] = t
	}
	p.viewMu.Lock()
	p.view = v
	p.viewMu.Unlock()
	r := p.room
	fresh := false
	r.mu.Lock()
	if p.viewed == nil {
		p.viewed = map[string]bool{}
	}
	for id := range v {
		// Only members: the set stays bounded by the room, and a leave
		// removes its entry.
		if m := r.members[id]; m != nil && id != p.id && !p.viewed[id] {
			p.viewed[id] = true
			fresh = true
		}
	}
	r.mu.Unlock()
	if fresh {
		r.m.goroutine(p.syncVideo)
	}
	p.kick()
}

// tileOf returns how the subscriber shows participant id; shown is false
// for video off screen. Without a view yet, every tile counts as 640x360.
func (p *Peer) tileOf(id string) (t TileView, shown bool) {
	p.viewMu.Lock()
	defer p.viewMu.Unlock()
	if p.view == nil {
		return TileView{ID: id, Width: 640, Height: 360}, true
	}
	t, shown = p.view[id]
	return t, shown
}

// kick asks the subscriber's allocator to run soon.
func (p *Peer) kick() {
	select {
	case p.kicks <- struct{}{}:
	default:
	}
}

// BandwidthEstimate returns the SFU's current estimate of browser
// participant id's downlink in bit/s (GCC on transport-wide feedback, capped
// by REMB), or 0 if it has none or id is not a browser in this room.
func (r *Room) BandwidthEstimate(id string) int {
	r.mu.Lock()
	m := r.members[id]
	r.mu.Unlock()
	if m == nil || m.peer == nil {
		return 0
	}
	return m.peer.bwe.estimate()
}
