package sfu

import (
	"slices"
	"time"
)

// allocInterval is how often each subscriber's layers are chosen again
// (besides when its view or a layer changes).
const allocInterval = 500 * time.Millisecond

// audioRate is the bandwidth kept for each audio track a subscriber
// receives, bit/s; audio is never paused for bandwidth.
const audioRate = 50_000

// allocTrack is what the allocator knows about one video track of one subscriber.
type allocTrack struct {
	layers    [numLayers]layerState
	tile      TileView
	shown     bool  // the tile is on the subscriber's screen
	screen    bool  // a screen share: kept before faces when bandwidth is short
	lastSpoke int64 // when its owner last spoke, Unix ns; 0 if never
}

// usable reports whether a layer can be switched to: it is being sent, or
// the SFU paused it and can resume it.
func (s layerState) usable() bool { return s.present && (s.live || s.paused) }

// coverLayer is the smallest layer at least 3/4 of the tile's size in both
// directions (a slight upscale is not visible), else the largest.
func coverLayer(st [numLayers]layerState, t TileView) int {
	for i, s := range st {
		if s.w*4 >= t.Width*3 && s.h*4 >= t.Height*3 {
			return i
		}
	}
	return numLayers - 1
}

// pickLayer is the smallest usable layer at or above want, else the largest
// usable one below; with no usable layer it is want (forwarding starts when
// that layer's first keyframe arrives).
func pickLayer(st [numLayers]layerState, want int) int {
	for i := want; i < numLayers; i++ {
		if st[i].usable() {
			return i
		}
	}
	for i := want - 1; i >= 0; i-- {
		if st[i].usable() {
			return i
		}
	}
	return want
}

// lowerLayer is the next usable layer below l, or layerOff.
func lowerLayer(st [numLayers]layerState, l int) int {
	for i := l - 1; i >= 0; i-- {
		if st[i].usable() {
			return i
		}
	}
	return layerOff
}

// allocate chooses a layer (or layerOff) for each track: the one that covers
// its tile, or nothing off screen. If budget (bit/s, 0 = unknown) is
// exceeded, it lowers the layers of the least important tracks one step at
// a time, and when every track is at its lowest layer it pauses them, least
// important first, all but the most important. Screen shares are the most
// important, then the most recent speakers.
func allocate(tracks []allocTrack, budget int) []int {
	choice := make([]int, len(tracks))
	total := 0
	for i, t := range tracks {
		choice[i] = layerOff
		if t.shown {
			choice[i] = pickLayer(t.layers, coverLayer(t.layers, t.tile))
			total += t.layers[choice[i]].bps
		}
	}
	if budget <= 0 || total <= budget {
		return choice
	}
	order := make([]int, len(tracks))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ta, tb := tracks[a], tracks[b]
		if ta.screen != tb.screen {
			if ta.screen {
				return 1
			}
			return -1
		}
		switch {
		case ta.lastSpoke < tb.lastSpoke:
			return -1
		case ta.lastSpoke > tb.lastSpoke:
			return 1
		}
		return 0
	})
	// The most important track on screen keeps its lowest layer: an
	// estimate that collapses on a burst of loss must not leave a thin line
	// without any video when its smallest layer fits.
	keep := -1
	for _, i := range order {
		if choice[i] != layerOff {
			keep = i
		}
	}
	for total > budget {
		changed := false
		for _, i := range order {
			if c := choice[i]; c != layerOff {
				if l := lowerLayer(tracks[i].layers, c); l != layerOff {
					total += tracks[i].layers[l].bps - tracks[i].layers[c].bps
					choice[i], changed = l, true
					break
				}
			}
		}
		if changed {
			continue
		}
		for _, i := range order {
			if c := choice[i]; c != layerOff && i != keep {
				total -= tracks[i].layers[c].bps
				choice[i], changed = layerOff, true
				break
			}
		}
		if !changed {
			break
		}
	}
	return choice
}

// allocLoop chooses this subscriber's layers every allocInterval and when
// kicked, until the peer closes.
func (p *Peer) allocLoop() {
	t := time.NewTicker(allocInterval)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		case <-p.kicks:
		}
		p.allocate(time.Now())
	}
}

// audioStreams is how many of a subscriber's audio tracks carry audio at
// once: with audio last-N only the lastN audible browsers plus the phone
// callers' mixed track, not every track the subscriber holds. Reserving
// audioRate for all of them left a 25-person room's thin-line subscribers
// no budget for any video.
func audioStreams(tracks, lastN int) int {
	if lastN > 0 && tracks > lastN+1 {
		return lastN + 1
	}
	return tracks
}

// allocate runs the allocator once for this subscriber.
func (p *Peer) allocate(now time.Time) {
	r := p.room
	r.mu.Lock()
	downs := make([]*downTrack, 0, len(p.downs))
	sharing := make([]bool, 0, len(p.downs))
	for _, d := range p.downs {
		downs = append(downs, d)
		m := r.members[d.out.owner.id]
		sharing = append(sharing, m != nil && m.Sharing)
	}
	audio := len(p.senders) - len(p.downs)
	r.mu.Unlock()
	tracks := make([]allocTrack, len(downs))
	for i, d := range downs {
		owner := d.out.owner.id
		tile, shown := p.tileOf(owner)
		tracks[i] = allocTrack{layers: d.out.state(now), tile: tile, shown: shown,
			screen: sharing[i], lastSpoke: r.speakers.lastSpoke(owner)}
		if sharing[i] { // a screen share is sent as its full layer only
			for l := range numLayers - 1 {
				tracks[i].layers[l].present = false
			}
		}
	}
	want := 0
	for _, t := range tracks {
		if t.shown {
			want += t.layers[pickLayer(t.layers, coverLayer(t.layers, t.tile))].bps
		}
	}
	p.bwe.lastWant = want + audioStreams(audio, r.m.audioLastN)*audioRate
	budget := p.bwe.budget(now)
	if r.m.ignoreBandwidth {
		budget = 0
	}
	if budget > 0 {
		budget = max(budget-audioStreams(audio, r.m.audioLastN)*audioRate, 1)
	}
	total := 0
	for i, l := range allocate(tracks, budget) {
		d := downs[i]
		if l != layerOff {
			total += tracks[i].layers[l].bps
		}
		_, prevTgt := d.layers()
		if d.setTarget(l) {
			d.out.keyframe(l)
		}
		// The publisher's layers follow what subscribers receive or wait
		// for: recompute when the target changed or a switch happened.
		if cur, _ := d.layers(); prevTgt != l || cur != d.demandCur {
			d.demandCur = cur
			d.out.updateDemand()
		}
	}
	p.bwe.lastTotal = total
	p.reportLayers(downs, tracks)
}

// reportLayers tells the subscriber which layer it now receives of each
// track, when that changed since the last report.
func (p *Peer) reportLayers(downs []*downTrack, tracks []allocTrack) {
	ms, ok := p.sig.(MediaSignaller)
	if !ok {
		return
	}
	infos := make([]LayerInfo, 0, len(downs))
	changed := len(downs) != len(p.reported)
	next := make(map[string]int, len(downs))
	for i, d := range downs {
		cur, _ := d.layers()
		id := d.out.owner.id
		next[id] = cur
		if prev, ok := p.reported[id]; !ok || prev != cur {
			changed = true
		}
		info := LayerInfo{ID: id}
		if cur != layerOff {
			s := tracks[i].layers[cur]
			info.Layer, info.Width, info.Height = layerRIDs[cur], s.w, s.h
		}
		infos = append(infos, info)
	}
	p.reported = next
	if changed {
		slices.SortFunc(infos, func(a, b LayerInfo) int {
			switch {
			case a.ID < b.ID:
				return -1
			case a.ID > b.ID:
				return 1
			}
			return 0
		})
		ms.Layers(infos)
	}
}
