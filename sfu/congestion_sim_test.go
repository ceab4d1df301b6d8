package sfu

import (
	"math/rand/v2"
	"testing"
	"time"
)

// simLine is a downlink of a fixed rate with a tail-drop buffer (a home
// router, tc's tbf), plus a fixed propagation delay and optional jitter
// that is no queue (a busy receiver).
type simLine struct {
	bps      float64
	maxQueue time.Duration
	jitter   time.Duration
	rng      *rand.Rand
	free     time.Time // when the line has sent everything queued
}

// pass returns when a packet sent at "at" arrives, or false if dropped.
func (l *simLine) pass(at time.Time, size int) (time.Time, bool) {
	if l.free.Before(at) {
		l.free = at
	}
	if l.free.Sub(at) > l.maxQueue {
		return time.Time{}, false
	}
	l.free = l.free.Add(time.Duration(float64((size+28)*8) / l.bps * float64(time.Second)))
	arr := l.free.Add(20 * time.Millisecond)
	if l.jitter > 0 {
		arr = arr.Add(time.Duration(l.rng.Int64N(int64(l.jitter))))
	}
	return arr, true
}

// simPacket is a packet in flight, for the feedback.
type simPacket struct {
	seq      uint16
	received bool
	arrival  time.Time
}

// simRoom is one subscriber of a room: the speaker and thumbnails, each
// track with layers of 105/350/1050 kbit/s (the load tool's camera),
// behind a simLine. run plays it with the real meter, controller and
// allocator: video is sent at the rate of the layers chosen (a switch
// takes effect switchDelay later, when the keyframe comes), keyframes
// every 3 s add bursts, and the subscriber sends feedback every 100 ms.
type simRoom struct {
	t      *testing.T
	line   *simLine
	tracks []allocTrack
	b      *bandwidthEstimate
	m      *feedbackMeter
	now    time.Time
	seq    uint16
	flight []simPacket
	rate   int // bit/s being sent
	choice []int

	// Measured over a window (reset by mark).
	sent, lost, packets int
	speakerAt           [numLayers + 1]int // allocation intervals with the speaker at each layer (last: off)
	intervals           int
	decreases           int
}

const switchDelay = 300 * time.Millisecond

func newSimRoom(t *testing.T, kbps int, tiles int, jitter time.Duration) *simRoom {
	t0 := time.Unix(1000, 0)
	m := newFeedbackMeter(t0)
	r := &simRoom{t: t, m: m, now: t0,
		b:    &bandwidthEstimate{gcc: &meteredEstimator{meter: m}},
		line: &simLine{bps: float64(kbps) * 1000, maxQueue: 250 * time.Millisecond, jitter: jitter, rng: rand.New(rand.NewPCG(1, 2))}}
	for i := range tiles {
		var st [numLayers]layerState
		for l := range st {
			div := 1 << (numLayers - 1 - l)
			st[l] = layerState{present: true, live: true, w: 1280 / div, h: 720 / div, bps: []int{105_000, 350_000, 1_050_000}[l]}
		}
		spoke := int64(i) // track 0 spoke last
		if i == 0 {
			spoke = 1 << 40
		}
		r.tracks = append(r.tracks, allocTrack{layers: st, tile: TileView{Width: 640, Height: 360}, shown: true, lastSpoke: spoke})
	}
	r.choice, r.rate = wanted(r.tracks)
	return r
}

// run plays the room for d.
func (r *simRoom) run(d time.Duration) {
	end := r.now.Add(d)
	const tick = 10 * time.Millisecond
	var carry float64
	pendingRate, pendingAt := r.rate, time.Time{}
	for r.now.Before(end) {
		r.now = r.now.Add(tick)
		if !pendingAt.IsZero() && !r.now.Before(pendingAt) {
			r.rate, pendingAt = pendingRate, time.Time{}
		}
		// Video at the chosen rate, and each track's keyframe every 3 s
		// (the load tool's: 20-60 KB at 1050 kbit/s, 0.15-0.45 s worth of
		// its layer, in one burst).
		bytes := float64(r.rate) / 8 * tick.Seconds()
		phase := int(r.now.Sub(time.Unix(1000, 0)) / tick % 300)
		for i, l := range r.choice {
			if l != layerOff && phase == (i*7)%300 {
				bytes += float64(r.tracks[i].layers[l].bps) / 8 * (0.15 + 0.3*r.line.rng.Float64())
			}
		}
		carry += bytes
		for carry >= 1200 {
			carry -= 1200
			r.send(1200)
		}
		if int(r.now.Sub(time.Unix(1000, 0))/tick)%10 == 0 {
			r.feedback()
		}
		if int(r.now.Sub(time.Unix(1000, 0))/tick)%50 == 0 {
			r.allocate(&pendingRate, &pendingAt)
		}
	}
}

func (r *simRoom) send(size int) {
	r.seq++
	r.m.onSent(r.seq, size, r.now)
	arr, ok := r.line.pass(r.now, size)
	r.flight = append(r.flight, simPacket{seq: r.seq, received: ok, arrival: arr})
	r.sent += size
	r.packets++
	if !ok {
		r.lost++
	}
}

// feedback reports, in order, the packets the subscriber has news of.
func (r *simRoom) feedback() {
	n := 0
	for n < len(r.flight) && (!r.flight[n].received || !r.flight[n].arrival.After(r.now)) {
		n++
	}
	for n > 0 && !r.flight[n-1].received {
		n-- // a loss is known once a later packet arrived
	}
	if n == 0 {
		return
	}
	entries := make([]fbEntry, n)
	for i, p := range r.flight[:n] {
		// The receiver's clock is 3 s ahead of the sender's.
		entries[i] = fbEntry{received: p.received, arrival: p.arrival.Sub(time.Unix(997, 0))}
	}
	r.m.onFeedback(twccFeedback(r.t, r.flight[0].seq, entries), r.now)
	r.flight = r.flight[n:]
}

func (r *simRoom) allocate(pendingRate *int, pendingAt *time.Time) {
	_, want := wanted(r.tracks)
	before := r.b.ctl.decreases
	budget := r.b.budget(r.now, allocation{sent: r.b.lastTotal, want: want,
		step: func(c int) int { return nextStep(r.tracks, c) }}, 0)
	r.decreases += r.b.ctl.decreases - before
	r.choice = allocate(r.tracks, budget)
	total := allocated(r.tracks, r.choice)
	r.b.lastTotal = total
	*pendingRate, *pendingAt = total, r.now.Add(switchDelay)
	r.intervals++
	if l := r.choice[0]; l == layerOff {
		r.speakerAt[numLayers]++
	} else {
		r.speakerAt[l]++
	}
}

// mark starts a measurement window.
func (r *simRoom) mark() {
	r.sent, r.lost, r.packets, r.intervals, r.decreases = 0, 0, 0, 0, 0
	r.speakerAt = [numLayers + 1]int{}
}

// TestCongestionThinLine: 25 video tiles over a 1 Mbit/s line. The
// controller finds the line, keeps the speaker at 360p and the loss low,
// and when the cap is lifted everything comes back within a minute.
func TestCongestionThinLine(t *testing.T) {
	r := newSimRoom(t, 1000, 25, 0)
	r.run(15 * time.Second)
	r.mark()
	r.run(60 * time.Second)
	kbps := float64(r.sent) * 8 / 60 / 1000
	loss := float64(r.lost) / float64(r.packets)
	t.Logf("1 Mbit/s line: sent %.0f kbit/s, loss %.2f %%, speaker q/h/f/off %v intervals, %d decreases",
		kbps, 100*loss, r.speakerAt, r.decreases)
	if h := r.speakerAt[1]; h < r.intervals*95/100 {
		t.Errorf("speaker at 360p in %d of %d intervals, want at least 95 %%", h, r.intervals)
	}
	if kbps < 600 || kbps > 1000 {
		t.Errorf("sent %.0f kbit/s into a 1000 kbit/s line, want 600-1000", kbps)
	}
	if loss > 0.02 {
		t.Errorf("loss %.2f %%, want at most 2 %%", 100*loss)
	}

	r.line.bps = 50e6 // the cap is lifted
	r.mark()
	var back time.Duration
	for back = 0; back < 90*time.Second && r.b.ctl.ceiling != 0; back += time.Second {
		r.run(time.Second)
	}
	t.Logf("cap lifted: no ceiling after %v, %d decreases on the way", back, r.decreases)
	if r.b.ctl.ceiling != 0 || back > 60*time.Second {
		t.Errorf("cap lifted: ceiling %d after %v, want none within 60 s", r.b.ctl.ceiling, back)
	}
	if got, want := allocated(r.tracks, r.choice), 25*350_000; got != want {
		t.Errorf("cap lifted: %d bit/s allocated, want every tile at 360p (%d)", got, want)
	}
}

// TestCongestionNoFalseAlarm: a fast line whose packets arrive with up to
// 40 ms of jitter (a busy receiver) is never taken for a congested one.
func TestCongestionNoFalseAlarm(t *testing.T) {
	r := newSimRoom(t, 50_000, 25, 40*time.Millisecond)
	r.run(60 * time.Second)
	if r.decreases != 0 || r.b.ctl.ceiling != 0 {
		t.Errorf("jitter without a queue: %d decreases, ceiling %d; want none", r.decreases, r.b.ctl.ceiling)
	}
}

// TestCongestionCapMidway: the line of a subscriber who receives 25 tiles
// at 360p drops to 2 Mbit/s; the controller follows within a few seconds.
func TestCongestionCapMidway(t *testing.T) {
	r := newSimRoom(t, 50_000, 25, 0)
	r.run(10 * time.Second)
	r.line.bps = 2e6
	r.mark()
	var fits time.Duration
	for fits = 0; fits < 20*time.Second; fits += allocInterval {
		r.run(allocInterval)
		if r.b.lastTotal > 0 && r.b.lastTotal <= 2_000_000 {
			break
		}
	}
	t.Logf("2 Mbit/s cap: allocation under the cap after %v (%d decreases)", fits, r.decreases)
	if fits > 5*time.Second {
		t.Errorf("allocation under the 2 Mbit/s cap after %v, want within 5 s", fits)
	}
}
