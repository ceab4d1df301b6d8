package loadtest

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// The two mouths of a load run. Each sends a 200 ms marker burst every
// second at its own frequency, half a period apart, so that one ear hears
// both and tells them apart.
const (
	mouthPhone   = iota // phone caller 0: 1 kHz
	mouthBrowser        // WebRTC participant 0: 2 kHz, Opus
	numMouths
)

// mouthPhase is where in the shared 1 s period each mouth starts its bursts.
var mouthPhase = [numMouths]time.Duration{0, burstPeriod * frameDur / 2}

// mouthName names the ends of a delay direction in reports.
var mouthName = [numMouths]string{"phone", "browser"}

// Markers is the marker clock shared by the phone and WebRTC runs of one
// load test (Config.Markers, WebRTCConfig.Markers): it schedules both
// mouths' bursts on one period, records when each burst started (the send
// time of the packet with the burst's start, plus the start's offset in it),
// and collects every ear's onsets, so that it can report the mouth-to-ear
// delay in all four directions. Make it with NewMarkers; it is safe for
// concurrent use.
type Markers struct {
	mu     sync.Mutex
	epoch  time.Time // the shared period's origin; set by the first mouth
	next   [numMouths]time.Time
	starts [numMouths][]time.Time
	ears   []*earLog
}

// NewMarkers returns an empty marker clock.
func NewMarkers() *Markers { return &Markers{} }

// earLog is what one ear (a phone caller or a WebRTC participant) heard.
type earLog struct {
	m        *Markers
	browser  bool
	from, to time.Time              // when it listened; to is zero while it still does
	onsets   [numMouths][]time.Time // onset arrival times per mouth
}

// due reports whether mouth should start a burst at now, and if so
// schedules its next one for the next period. The first mouth to ask sets
// the period's origin so that its first burst starts at once.
func (m *Markers) due(mouth int, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	period := burstPeriod * frameDur
	if m.epoch.IsZero() {
		m.epoch = now.Add(-mouthPhase[mouth])
	}
	slot := func(after time.Time, strict bool) time.Time {
		base := m.epoch.Add(mouthPhase[mouth])
		n := after.Sub(base) / period
		t := base.Add(n * period)
		for t.Before(after) || (strict && t.Equal(after)) {
			t = t.Add(period)
		}
		return t
	}
	if m.next[mouth].IsZero() {
		m.next[mouth] = slot(now, false)
	}
	if now.Before(m.next[mouth]) {
		return false
	}
	m.next[mouth] = slot(now, true)
	return true
}

// burst records that mouth's burst started at t.
func (m *Markers) burst(mouth int, t time.Time) {
	m.mu.Lock()
	m.starts[mouth] = append(m.starts[mouth], t)
	m.mu.Unlock()
}

// ear registers an ear that listens from now on.
func (m *Markers) ear(browser bool) *earLog {
	e := &earLog{m: m, browser: browser, from: time.Now()}
	m.mu.Lock()
	m.ears = append(m.ears, e)
	m.mu.Unlock()
	return e
}

// heard records an onset of mouth's marker that arrived at t.
func (e *earLog) heard(mouth int, t time.Time) {
	e.m.mu.Lock()
	e.onsets[mouth] = append(e.onsets[mouth], t)
	e.m.mu.Unlock()
}

// stop ends the ear's listening at t.
func (e *earLog) stop(t time.Time) {
	e.m.mu.Lock()
	if e.to.IsZero() {
		e.to = t
	}
	e.m.mu.Unlock()
}

// Direction is the mouth-to-ear delay of one direction.
type Direction struct {
	From   string          // the mouth: "phone" or "browser"
	To     string          // the ears: "phone" or "browser"
	Delays []time.Duration // one per burst and ear that heard it
	Bursts int             // bursts the mouth sent
	Ears   int             // ears of this kind
	Missed int             // burst-ear pairs not heard while the ear listened
}

// Direction returns the delays from the phone or browser mouth to the
// phone or browser ears.
func (m *Markers) Direction(fromBrowser, toBrowser bool) Direction {
	mouth := mouthPhone
	if fromBrowser {
		mouth = mouthBrowser
	}
	ear := 0
	if toBrowser {
		ear = 1
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d := Direction{From: mouthName[mouth], To: mouthName[ear], Bursts: len(m.starts[mouth])}
	now := time.Now()
	for _, e := range m.ears {
		if e.browser != toBrowser {
			continue
		}
		d.Ears++
		to := e.to
		if to.IsZero() {
			to = now
		}
		delays, missed := matchOnsets(e.onsets[mouth], m.starts[mouth], e.from, to)
		d.Delays = append(d.Delays, delays...)
		d.Missed += missed
	}
	return d
}

// matchOnsets pairs each onset with the latest burst start before it (within
// one burst period; the earliest onset per burst counts, as an ear may hear
// a burst on several tracks). Only bursts that started while the ear
// listened count: an ear that came in during a burst did not hear its
// start. Those that started at least one period before it stopped and
// that it never heard are missed.
func matchOnsets(onsets, starts []time.Time, from, to time.Time) (delays []time.Duration, missed int) {
	onsets = slices.Clone(onsets)
	slices.SortFunc(onsets, func(a, b time.Time) int { return a.Compare(b) })
	heard := make([]bool, len(starts))
	period := burstPeriod * frameDur
	for _, o := range onsets {
		i, _ := slices.BinarySearchFunc(starts, o, func(s, t time.Time) int { return s.Compare(t) })
		if i == 0 {
			continue
		}
		d := o.Sub(starts[i-1])
		if d >= period || heard[i-1] || starts[i-1].Before(from) {
			continue // not this burst's onset, a later one, or the ear came in during it
		}
		heard[i-1] = true
		delays = append(delays, d)
	}
	for i, s := range starts {
		if !heard[i] && !s.Before(from) && s.Add(period).Before(to) {
			missed++
		}
	}
	return delays, missed
}

// Write prints one mouth-to-ear delay line per direction, saying so
// plainly where a direction could not be measured.
func (m *Markers) Write(w io.Writer) {
	for _, dir := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
		m.Direction(dir[0], dir[1]).write(w)
	}
}

// write prints the direction's delay line.
func (d Direction) write(w io.Writer) {
	label := fmt.Sprintf("%-16s", d.From+"->"+d.To+":")
	switch {
	case d.Bursts == 0:
		fmt.Fprintf(w, "%s no onsets: no %s mouth sent a burst\n", label, d.From)
	case d.Ears == 0:
		fmt.Fprintf(w, "%s no onsets: no %s ears (%d bursts sent)\n", label, d.To, d.Bursts)
	case len(d.Delays) == 0:
		fmt.Fprintf(w, "%s no onsets: %d bursts sent, none heard by the %d ears (%d burst-ear pairs missed)\n", label, d.Bursts, d.Ears, d.Missed)
	default:
		p50, p95 := quantiles(d.Delays)
		fmt.Fprintf(w, "%s mouth-to-ear median %v, p95 %v (%d onsets at %d ears; %d bursts, %d burst-ear pairs missed)\n",
			label, p50.Round(100*time.Microsecond), p95.Round(100*time.Microsecond), len(d.Delays), d.Ears, d.Bursts, d.Missed)
	}
}
