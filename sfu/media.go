package sfu

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

// SetView records which participants' video this subscriber shows and how
// large. Video of participants not listed is not sent to it. Until the
// first SetView, every video is sent at a middle layer.
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
