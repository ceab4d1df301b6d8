package web

import (
	"encoding/json"

	"dialroom/sfu"
)

// Messages for simulcast layers, last-N and the active speaker; see
// docs/protocol.md.

// viewMsg lists the participants whose video the browser shows and at
// which size (device pixels). Video of anyone not listed is not sent.
type viewMsg struct {
	Type  string     `json:"type"` // "view"
	Tiles []viewTile `json:"tiles"`
}

// viewTile is one shown tile.
type viewTile struct {
	ID string `json:"id"` // participant ID
	W  int    `json:"w"`
	H  int    `json:"h"`
}

// maxTileSide bounds a tile's reported width and height, in device pixels.
const maxTileSide = 16384

// layersMsg tells a subscriber which simulcast layer of each participant's
// video it receives.
type layersMsg struct {
	Type   string          `json:"type"` // "layers"
	Tracks []sfu.LayerInfo `json:"tracks"`
}

// publishMsg tells a publisher which simulcast layers of its camera anyone
// receives; it pauses the others.
type publishMsg struct {
	Type   string   `json:"type"` // "publish"
	Layers []string `json:"layers"`
}

// speakerMsg names the room's dominant speaker ("" = nobody).
type speakerMsg struct {
	Type string `json:"type"` // "speaker"
	ID   string `json:"id"`
}

// mediaHandler returns the handler of a media message type.
func mediaHandler(msgType string) (func(c *conn, data []byte) error, bool) {
	switch msgType {
	case "view":
		return (*conn).handleView, true
	}
	return nil, false
}

// route runs the media handlers and hands every other message to dispatch.
func (c *conn) route(data []byte) error {
	var env envelope
	if json.Unmarshal(data, &env) == nil {
		if h, ok := mediaHandler(env.Type); ok {
			return h(c, data)
		}
	}
	return c.dispatch(data)
}

func (c *conn) handleView(data []byte) error {
	var m viewMsg
	if !c.decode(data, &m) || !c.joined() {
		return nil
	}
	tiles, ok := viewTiles(m)
	if !ok {
		c.sendError(codeBadMessage, "view: too many tiles or a bad size")
		return nil
	}
	c.peer.SetView(tiles)
	return nil
}

// viewTiles checks a view message and converts it.
func viewTiles(m viewMsg) ([]sfu.TileView, bool) {
	if len(m.Tiles) > 256 {
		return nil, false
	}
	tiles := make([]sfu.TileView, 0, len(m.Tiles))
	for _, t := range m.Tiles {
		if t.ID == "" || t.W < 0 || t.H < 0 || t.W > maxTileSide || t.H > maxTileSide {
			return nil, false
		}
		tiles = append(tiles, sfu.TileView{ID: t.ID, Width: t.W, Height: t.H})
	}
	return tiles, true
}

// Layers implements sfu.MediaSignaller.
func (c *conn) Layers(tracks []sfu.LayerInfo) {
	c.enqueue(layersMsg{Type: "layers", Tracks: tracks}, false)
}

// Publish implements sfu.MediaSignaller. It must arrive, or the browser
// would keep a layer paused that someone now waits for.
func (c *conn) Publish(p sfu.PublishInfo) {
	c.enqueue(publishMsg{Type: "publish", Layers: p.Layers}, true)
}

// Speaker implements sfu.MediaSignaller.
func (c *conn) Speaker(id string) {
	c.enqueue(speakerMsg{Type: "speaker", ID: id}, false)
}
