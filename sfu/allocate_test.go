package sfu

import (
	"testing"
	"time"
)

// loadLayers are the layers of the load tool's camera: 105/350/1050 kbit/s.
func loadLayers() [numLayers]layerState {
	var st [numLayers]layerState
	for i := range st {
		div := 1 << (numLayers - 1 - i)
		st[i] = layerState{present: true, live: true, w: 1280 / div, h: 720 / div, bps: []int{105_000, 350_000, 1_050_000}[i]}
	}
	return st
}

// TestAllocateThinLine: with 25 tiles of 640x360 and room for 800 kbit/s,
// the speaker keeps 360p and the most recent speakers get thumbnails;
// only when not even that fits does the speaker drop to its lowest layer.
func TestAllocateThinLine(t *testing.T) {
	tracks := make([]allocTrack, 25)
	for i := range tracks {
		tracks[i] = allocTrack{layers: loadLayers(), tile: TileView{Width: 640, Height: 360}, shown: true, lastSpoke: int64(i)}
	}
	tracks[7].lastSpoke = 1000 // the speaker
	for _, c := range []struct {
		budget         int
		speaker        int
		thumbs, thumbL int // other tracks on, and their layer
	}{
		{0, 1, 24, 1},
		{800_000, 1, 4, 0},
		{460_000, 1, 1, 0},
		{300_000, 0, 0, 0},
		{1, 0, 0, 0},
	} {
		got := allocate(tracks, c.budget)
		on := 0
		for i, l := range got {
			if i == 7 || l == layerOff {
				continue
			}
			on++
			if l != c.thumbL {
				t.Errorf("budget %d: thumbnail %d at layer %d, want %d", c.budget, i, l, c.thumbL)
			}
			if c.thumbs < 24 && tracks[i].lastSpoke < int64(24-c.thumbs) {
				t.Errorf("budget %d: thumbnail %d (spoke at %d) on, want the most recent speakers first", c.budget, i, tracks[i].lastSpoke)
			}
		}
		if got[7] != c.speaker || on != c.thumbs {
			t.Errorf("budget %d: speaker at %d with %d thumbnails, want %d with %d", c.budget, got[7], on, c.speaker, c.thumbs)
		}
		if c.budget > 1 && allocated(tracks, got) > c.budget {
			t.Errorf("budget %d: %d allocated", c.budget, allocated(tracks, got))
		}
	}
}

// TestNextStep: the next step up is room for one more thumbnail, or for
// the speaker's next layer, whichever comes first.
func TestNextStep(t *testing.T) {
	tracks := make([]allocTrack, 3)
	for i := range tracks {
		tracks[i] = allocTrack{layers: loadLayers(), tile: TileView{Width: 640, Height: 360}, shown: true, lastSpoke: int64(i)}
	}
	for _, c := range []struct{ ceiling, want int }{
		{105_000, 350_000}, // speaker q -> h
		{350_000, 455_000}, // + a thumbnail at q
		{455_000, 560_000}, // + the other thumbnail
		{560_000, 805_000}, // one thumbnail q -> h
		{1_050_000, 0},     // everything at the tiles' size
		{100_000_000, 0},   // no limit
		{459_000, 560_000}, // a ceiling between steps
		{0, 0},             // no ceiling: nothing more to send
		{1_040_000, 1_050_000},
	} {
		if got := nextStep(tracks, c.ceiling); got != c.want {
			t.Errorf("nextStep(%d) = %d, want %d", c.ceiling, got, c.want)
		}
	}
}

// TestLayerRatesTrusted: a layer's measured bitrate counts once it has been
// sent for layerTrust; before, and while paused, the larger of the nominal
// rate and the last trusted measurement.
func TestLayerRatesTrusted(t *testing.T) {
	var lr layerRates
	t0 := time.Unix(1000, 0)
	st := loadLayers()
	st[2].live, st[2].paused = false, true
	got := lr.trusted("v", st, t0)
	if got[0].bps != nominalRate[0] || got[1].bps != nominalRate[1] || got[2].bps != nominalRate[2] {
		t.Errorf("just started: %d %d %d, want the nominal rates", got[0].bps, got[1].bps, got[2].bps)
	}
	got = lr.trusted("v", st, t0.Add(layerTrust))
	if got[0].bps != 105_000 || got[1].bps != 350_000 || got[2].bps != nominalRate[2] {
		t.Errorf("sent for %v: %d %d %d, want 105000 350000 and f's nominal rate", layerTrust, got[0].bps, got[1].bps, got[2].bps)
	}
	hot := st
	hot[1].bps = 800_000 // noise: h above its nominal rate
	lr.trusted("v", hot, t0.Add(2*layerTrust))
	paused := st
	paused[1].live, paused[1].paused, paused[1].bps = false, true, nominalRate[1]
	if got := lr.trusted("v", paused, t0.Add(3*layerTrust)); got[1].bps != 800_000 {
		t.Errorf("paused after 800 kbit/s: %d, want 800000", got[1].bps)
	}
	started := st
	started[1].bps = 7_000 // resumed: the measurement starts low
	if got := lr.trusted("v", started, t0.Add(3*layerTrust+time.Second)); got[1].bps != 800_000 {
		t.Errorf("resumed 1 s ago, measured 7 kbit/s: %d, want 800000", got[1].bps)
	}
	lr.prune([]string{"w"})
	if len(lr) != 1 || lr["v"] == nil {
		t.Errorf("prune with one other id: %d tracks left, want v kept (fewer tracks than ids)", len(lr))
	}
	lr.trusted("w", st, t0)
	lr.trusted("x", st, t0)
	lr.prune([]string{"w"})
	if len(lr) != 1 || lr["w"] == nil {
		t.Errorf("prune: %v left, want only w", len(lr))
	}
}
