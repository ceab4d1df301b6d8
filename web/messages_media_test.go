package web

import (
	"context"
	"log/slog"
	"testing"
)

func TestViewTiles(t *testing.T) {
	many := viewMsg{Tiles: make([]viewTile, 257)}
	for i := range many.Tiles {
		many.Tiles[i] = viewTile{ID: "web-1", W: 1, H: 1}
	}
	tests := []struct {
		name string
		m    viewMsg
		ok   bool
		n    int
	}{
		{"empty", viewMsg{}, true, 0},
		{"two", viewMsg{Tiles: []viewTile{{ID: "web-1", W: 320, H: 180}, {ID: "web-2", W: 1280, H: 720}}}, true, 2},
		{"no id", viewMsg{Tiles: []viewTile{{W: 320, H: 180}}}, false, 0},
		{"negative", viewMsg{Tiles: []viewTile{{ID: "web-1", W: -1, H: 180}}}, false, 0},
		{"huge", viewMsg{Tiles: []viewTile{{ID: "web-1", W: 1 << 20, H: 180}}}, false, 0},
		{"too many", many, false, 0},
	}
	for _, tt := range tests {
		tiles, ok := viewTiles(tt.m)
		if ok != tt.ok || len(tiles) != tt.n {
			t.Errorf("%s: got %d tiles, ok %v; want %d, %v", tt.name, len(tiles), ok, tt.n, tt.ok)
		}
	}
}

// FuzzRoute feeds arbitrary client messages, media ones included, through
// the router: none may panic, and each gets at most one reply.
func FuzzRoute(f *testing.F) {
	for _, s := range []string{
		`{"type":"view","tiles":[{"id":"web-1","w":320,"h":180}]}`,
		`{"type":"view","tiles":[{"id":"","w":-1,"h":1e9}]}`,
		`{"type":"view","tiles":null}`, `{"type":"view","tiles":7}`,
		`{"type":"mute","muted":true}`, `{not json`, `null`,
	} {
		f.Add([]byte(s))
	}
	s := &server{rooms: fakeRooms{}, log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &conn{s: s, log: s.log, send: make(chan []byte, wsSendQueue), quit: make(chan struct{}), ctx: context.Background()}
		_ = c.route(data)
		if len(c.send) > 1 {
			t.Errorf("replies to one message: got %d, want at most 1", len(c.send))
		}
	})
}
