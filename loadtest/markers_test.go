package loadtest

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMarkersScheduleBothMouths: the first mouth to ask starts at once, the
// other half a period later, and each then once a period on the same clock,
// however late its 20 ms ticks come.
func TestMarkersScheduleBothMouths(t *testing.T) {
	m := NewMarkers()
	t0 := time.Unix(100, 0)
	var phone, browser []time.Duration
	for tick := time.Duration(0); tick < 3*time.Second; tick += frameDur {
		now := t0.Add(tick)
		if m.due(mouthPhone, now) {
			phone = append(phone, tick)
		}
		// The browser's ticks come 7 ms after the phone's.
		if m.due(mouthBrowser, now.Add(7*time.Millisecond)) {
			browser = append(browser, tick+7*time.Millisecond)
		}
	}
	wantPhone := []time.Duration{0, time.Second, 2 * time.Second}
	wantBrowser := []time.Duration{507 * time.Millisecond, 1507 * time.Millisecond, 2507 * time.Millisecond}
	if !slices.Equal(phone, wantPhone) || !slices.Equal(browser, wantBrowser) {
		t.Errorf("bursts: phone at %v, browser at %v; want %v and %v", phone, browser, wantPhone, wantBrowser)
	}
}

// TestMarkersDirections: onsets are matched to their own mouth's bursts,
// the earliest per burst counts, and bursts that started before an ear
// listened count neither as heard nor as missed; directions without a
// mouth or ears say so.
func TestMarkersDirections(t *testing.T) {
	m := NewMarkers()
	t0 := time.Unix(100, 0)
	for i := range 4 {
		m.burst(mouthPhone, t0.Add(time.Duration(i)*time.Second))
	}
	ear := m.ear(false)
	ear.from = t0.Add(500 * time.Millisecond)           // came in during the first burst
	ear.heard(mouthPhone, t0.Add(520*time.Millisecond)) // its tail: not its onset
	ear.heard(mouthPhone, t0.Add(time.Second+70*time.Millisecond))
	ear.heard(mouthPhone, t0.Add(time.Second+40*time.Millisecond)) // the same burst, earlier
	ear.heard(mouthPhone, t0.Add(3*time.Second+50*time.Millisecond))
	ear.stop(t0.Add(5 * time.Second))
	b := m.ear(true)
	b.from = t0
	b.heard(mouthPhone, t0.Add(2*time.Second+90*time.Millisecond))
	b.stop(t0.Add(5 * time.Second))
	d := m.Direction(false, false)
	if !slices.Equal(d.Delays, []time.Duration{40 * time.Millisecond, 50 * time.Millisecond}) || d.Missed != 1 || d.Bursts != 4 {
		t.Errorf("phone->phone: delays %v, %d missed of %d; want [40ms 50ms], 1 missed of 4", d.Delays, d.Missed, d.Bursts)
	}
	var out bytes.Buffer
	m.Write(&out)
	text := out.String()
	for _, want := range []string{
		"phone->phone:    mouth-to-ear median 50ms, p95 50ms (2 onsets at 1 ears; 4 bursts, 1 burst-ear pairs missed)",
		"phone->browser:  mouth-to-ear median 90ms",
		"browser->phone:  no onsets: no browser mouth sent a burst",
		"browser->browser: no onsets: no browser mouth sent a burst",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
}
