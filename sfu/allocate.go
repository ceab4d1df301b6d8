package sfu

import (
	"fmt"
	"slices"
	"strings"
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

// stageLayer is the layer (360p) the most important track keeps while
// other tracks can still be paused: a thin line shows the speaker (or the
// screen share) in a readable size rather than more thumbnails.
const stageLayer = 1

// allocate chooses a layer (or layerOff) for each track: the one that covers
// its tile, or nothing off screen. If budget (bit/s, 0 = unknown) is
// exceeded, it lowers the layers of the least important tracks one step at
// a time, the most important one not below stageLayer; when no more can be
// lowered it pauses tracks, least important first; with every other track
// paused it lowers the most important one further, to its lowest layer,
// which it keeps. Screen shares are the most important, then the most
// recent speakers.
func allocate(tracks []allocTrack, budget int) []int {
	choice, total := wanted(tracks)
	if budget <= 0 || total <= budget {
		return choice
	}
	order := importance(tracks)
	keep := -1
	for _, i := range order {
		if choice[i] != layerOff {
			keep = i
		}
	}
	// lower moves track i one layer down; floor is the lowest it may go.
	lower := func(i, floor int) bool {
		c := choice[i]
		l := lowerLayer(tracks[i].layers, c)
		if c == layerOff || l == layerOff || l < floor {
			return false
		}
		total += tracks[i].layers[l].bps - tracks[i].layers[c].bps
		choice[i] = l
		return true
	}
	for total > budget {
		changed := false
		for _, i := range order {
			floor := 0
			if i == keep {
				floor = min(stageLayer, choice[i])
			}
			if changed = lower(i, floor); changed {
				break
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
		if !changed && keep >= 0 {
			changed = lower(keep, 0)
		}
		if !changed {
			break
		}
	}
	return choice
}

// wanted returns the layer that covers each track's tile (layerOff off
// screen) and their bitrates' sum.
func wanted(tracks []allocTrack) ([]int, int) {
	choice := make([]int, len(tracks))
	total := 0
	for i, t := range tracks {
		choice[i] = layerOff
		if t.shown {
			choice[i] = pickLayer(t.layers, coverLayer(t.layers, t.tile))
			total += t.layers[choice[i]].bps
		}
	}
	return choice, total
}

// importance returns the tracks' indexes, least important first.
func importance(tracks []allocTrack) []int {
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
	return order
}

// allocated is the bit/s of the layers chosen.
func allocated(tracks []allocTrack, choice []int) int {
	total := 0
	for i, l := range choice {
		if l != layerOff {
			total += tracks[i].layers[l].bps
		}
	}
	return total
}

// nextStep returns the smallest budget above ceiling with which allocate
// sends more than it does under ceiling: room for one more layer of one
// track, or for one paused track's lowest layer. 0 if no budget sends more.
func nextStep(tracks []allocTrack, ceiling int) int {
	choice := allocate(tracks, ceiling)
	cur := allocated(tracks, choice)
	var candidates []int
	for i, t := range tracks {
		if !t.shown {
			continue
		}
		have := 0
		if choice[i] != layerOff {
			have = t.layers[choice[i]].bps
		}
		for _, s := range t.layers {
			if s.usable() && s.bps > have {
				candidates = append(candidates, cur+s.bps-have)
			}
		}
	}
	slices.Sort(candidates)
	for _, c := range slices.Compact(candidates) {
		if c > ceiling && allocated(tracks, allocate(tracks, c)) > cur {
			return c
		}
	}
	return 0
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
	ids := make([]string, len(downs))
	for i, d := range downs {
		owner := d.out.owner.id
		tile, shown := p.tileOf(owner)
		ids[i] = d.out.id
		tracks[i] = allocTrack{layers: p.bwe.rates.trusted(d.out.id, d.out.state(now), now), tile: tile, shown: shown,
			screen: sharing[i], lastSpoke: r.speakers.lastSpoke(owner)}
		if sharing[i] { // a screen share is sent as its full layer only
			for l := range numLayers - 1 {
				tracks[i].layers[l].present = false
			}
		}
		p.bwe.rates.backOff(d.out.id, &tracks[i].layers, now)
	}
	// The allocator aims at layers as if every layer the publisher can send
	// were sent (aims); a track whose aim is not sent yet stays on its best
	// layer below that is (choose).
	aims := obtainable(tracks)
	_, want := wanted(aims)
	audioBps := audioStreams(audio, r.m.audioLastN) * audioRate
	budget := p.bwe.budget(now, allocation{sent: p.bwe.lastTotal, want: want,
		step: func(c int) int { return nextStep(aims, c) }}, audioBps)
	if r.m.ignoreBandwidth {
		budget = 0
	}
	if budget != p.bwe.lastBudget {
		s := p.bwe.signals
		var tot [5]int
		if m := p.bwe.meter(); m != nil {
			tot = m.totals()
		}
		p.log.Debug("video ceiling", "bps", budget, "was", p.bwe.lastBudget, "sent", p.bwe.lastTotal,
			"lost", s.lost, "reported", s.reported, "queue", s.queue, "acked", s.acked, "acked_span", s.ackedSpan,
			"acked_n", s.ackedCount, "measured_sent", s.sent, "totals", tot)
	}
	aim := allocate(aims, budget)
	if budget > 0 && p.bwe.lastBudget > 0 && budget <= p.bwe.lastBudget {
		holdLayers(aim, downs, aims)
	}
	p.bwe.lastBudget = budget
	total := 0
	for i, a := range aim {
		d := downs[i]
		l, wait := choose(tracks[i].layers, a)
		if !p.secure.Load() {
			l = layerOff // no video before SRTP is up (Peer.secure)
		}
		if l != layerOff {
			total += tracks[i].layers[l].bps
		}
		p.bwe.rates.wait(ids[i], a, tracks[i].layers, now)
		_, prevTgt := d.layers()
		prevWait := d.setWait(wait)
		if wait != prevWait {
			p.log.Debug("video layer wait", "track", d.out.id, "layer", wait, "was", prevWait, "target", l,
				"layers", layerSummary(tracks[i].layers))
		}
		if d.setTarget(l) {
			d.out.keyframe(l)
		}
		if l != prevTgt {
			p.log.Debug("video layer", "track", d.out.id, "layer", l, "was", prevTgt, "budget", budget,
				"want", want, "layers", layerSummary(tracks[i].layers))
		}
		// The publisher's layers follow what subscribers receive, switch
		// to or wait for: recompute when one of these changed.
		if cur, _ := d.layers(); prevTgt != l || prevWait != wait || cur != d.demandCur {
			d.demandCur = cur
			d.out.updateDemand()
		}
	}
	p.bwe.lastTotal = total
	p.bwe.rates.prune(ids)
	p.settleSwitches(downs, now)
	p.reportLayers(downs, tracks)
}

// holdLayers keeps each track at most at the layer it is switching to or
// receives: under a ceiling that did not rise, a layer goes up only with
// a step of the controller (a probe). Otherwise a layer whose measured
// rate wavers around the ceiling (a busy publisher's encoder) would be
// switched up and down every interval, each switch a keyframe.
//
// A layer the track waits for (it was chosen, and is resumed but not yet
// sent) counts as the one it switches to, so that the wait goes on.
func holdLayers(choice []int, downs []*downTrack, tracks []allocTrack) {
	for i, d := range downs {
		_, held := d.layers()
		if w := d.waiting(); w > held && tracks[i].layers[w].usable() {
			held = w
		}
		if held != layerOff && choice[i] > held && tracks[i].layers[held].usable() {
			choice[i] = held
		}
	}
}

// Waiting for a layer to start. A browser resumes a paused simulcast
// layer only after a while (often more than a second: its encoder starts
// the layer with a keyframe), and may not resume it at all when its own
// uplink or CPU cannot carry it. A subscriber whose allocation chose a
// layer that is not being sent keeps it resumed at the publisher (the
// downTrack's waitFor) and stays on its best layer below that is sent; it
// switches up on the first allocation that finds the layer sent (at its
// keyframe, as any switch). If the layer does not start within layerStart,
// it counts as absent for this subscriber for a back-off, from layerRetry
// doubling up to layerRetryMax after each wait that failed (reset once the
// layer has been sent for layerTrust). Without this, the subscriber
// flipped every allocation interval between choosing the paused layer
// (which resumed it) and, finding it resumed but not yet sent, the layer
// below (which paused it again), each switch with a keyframe request.
const layerRetryMax = 40 * time.Second

// obtainable returns a copy of tracks in which every present layer that
// is not being sent counts as paused, that is usable: the allocator aims
// at what the publishers can send (layers in back-off are not present).
func obtainable(tracks []allocTrack) []allocTrack {
	out := slices.Clone(tracks)
	for i := range out {
		for l := range out[i].layers {
			if s := &out[i].layers[l]; s.present && !s.live {
				s.paused = true
			}
		}
	}
	return out
}

// choose returns the layer to forward for an aim: the aim if it is being
// sent, else the best layer below it that is, with the aim to wait for.
// With no layer at or below the aim being sent, the aim is the target
// itself (forwarding starts with its first keyframe) and nothing is waited
// for besides it.
func choose(st [numLayers]layerState, aim int) (target, waitFor int) {
	if aim == layerOff || st[aim].live {
		return aim, layerOff
	}
	for l := aim - 1; l >= 0; l-- {
		if st[l].live {
			return l, aim
		}
	}
	return aim, layerOff
}

// backOff marks absent in st the layers of track id this subscriber waited
// for in vain: still in back-off, or (starting one now) waited for longer
// than layerStart. It resets the back-off of a layer sent for layerTrust.
func (lr *layerRates) backOff(id string, st *[numLayers]layerState, now time.Time) {
	m := (*lr)[id]
	if m == nil {
		return
	}
	for i := range st {
		r := &m[i]
		if st[i].live {
			if !r.liveSince.IsZero() && now.Sub(r.liveSince) >= layerTrust {
				r.backoff = 0
			}
			continue
		}
		if !r.waitSince.IsZero() && now.Sub(r.waitSince) > layerStart {
			r.backoff = min(max(2*r.backoff, layerRetry), layerRetryMax)
			r.retryAt, r.waitSince = now.Add(r.backoff), time.Time{}
		}
		if now.Before(r.retryAt) {
			st[i].present = false
		}
	}
}

// wait runs the clock of the layer track id aims at while it is not sent
// and stops the others'. The clock runs only while the publisher sends
// some layer of the track: before its first packets (or with its camera
// stopped) waiting is not the layer's failure.
func (lr *layerRates) wait(id string, aim int, st [numLayers]layerState, now time.Time) {
	m := (*lr)[id]
	if m == nil {
		return
	}
	sending := false
	for _, s := range st {
		sending = sending || s.live
	}
	for i := range m {
		r := &m[i]
		switch {
		case i != aim || st[i].live || !sending:
			r.waitSince = time.Time{}
		case r.waitSince.IsZero():
			r.waitSince = now
		}
	}
}

// waiting returns the layer above its target that the subscriber waits
// for, or layerOff.
func (d *downTrack) waiting() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.waitFor
}

// setWait sets the layer the subscriber waits for and returns the previous one.
func (d *downTrack) setWait(l int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	prev := d.waitFor
	d.waitFor = l
	return prev
}

// maxSwitchWait bounds how long after a decrease the feedback waits for
// the lower layers to take over.
const maxSwitchWait = 4 * time.Second

// settleSwitches keeps the congestion feedback on hold after a decrease
// while a track still waits for the keyframe of its lower layer: until
// then the old layer keeps flowing at the old rate, and judging the line
// by it would cut again and again (a loaded publisher can take seconds).
func (p *Peer) settleSwitches(downs []*downTrack, now time.Time) {
	m := p.bwe.meter()
	if m == nil || now.Sub(p.bwe.ctl.decreased) > maxSwitchWait {
		return
	}
	for _, d := range downs {
		if cur, tgt := d.layers(); tgt != layerOff && cur > tgt {
			m.setMark(now)
			return
		}
	}
}

// layerTrust is how long a layer must have been sent before its measured
// bitrate counts: the measurement starts low (an average over time the
// layer was not sent), and a layer that has just started sends its
// keyframe and ramps up. Until then the allocator counts the nominal rate
// or, higher, what the layer was measured at before.
const layerTrust = 3 * time.Second

// layerRates remembers, per track, what each layer was measured at and
// since when it has been sent. Allocator goroutine only.
type layerRates map[string]*[numLayers]layerRate

type layerRate struct {
	liveSince time.Time // zero while not sent
	measured  int       // bit/s, the last trusted measurement; 0 if none

	// Waiting for the layer to start (see layerRetryMax).
	waitSince time.Time     // since when the subscriber waits for it; zero if it does not
	retryAt   time.Time     // until then it counts as absent: it did not start when waited for
	backoff   time.Duration // the last back-off; 0 once the layer has been sent for layerTrust
}

// trusted returns st with each layer's bitrate as the allocator should
// count it: the measurement once the layer has been sent for layerTrust,
// else the larger of the nominal rate and the last trusted measurement.
func (lr *layerRates) trusted(id string, st [numLayers]layerState, now time.Time) [numLayers]layerState {
	if *lr == nil {
		*lr = layerRates{}
	}
	m := (*lr)[id]
	if m == nil {
		m = &[numLayers]layerRate{}
		(*lr)[id] = m
	}
	for i := range st {
		r := &m[i]
		if !st[i].live {
			r.liveSince = time.Time{}
		} else if r.liveSince.IsZero() {
			r.liveSince = now
		}
		if st[i].live && now.Sub(r.liveSince) >= layerTrust {
			r.measured = st[i].bps
			continue
		}
		st[i].bps = max(nominalRate[i], r.measured)
	}
	return st
}

// prune forgets the tracks not in ids.
func (lr layerRates) prune(ids []string) {
	if len(lr) <= len(ids) {
		return
	}
	for id := range lr {
		if !slices.Contains(ids, id) {
			delete(lr, id)
		}
	}
}

// layerSummary describes a track's layers for the debug log: per layer
// "+" sent, "p" paused, "?" neither (resumed, not sent yet), "-" absent
// (or in back-off for this subscriber), and the bit/s counted for it.
func layerSummary(st [numLayers]layerState) string {
	var b strings.Builder
	for i, s := range st {
		c := "-"
		switch {
		case s.present && s.live:
			c = "+"
		case s.present && s.paused:
			c = "p"
		case s.present:
			c = "?"
		}
		fmt.Fprintf(&b, "%s%s%d ", layerRIDs[i], c, s.bps/1000)
	}
	return strings.TrimSpace(b.String())
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
