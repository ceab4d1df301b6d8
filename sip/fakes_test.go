package sip

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"dialroom/dialplan"
	"dialroom/mixer"
)

// fakeRooms maps dialled numbers to rooms, and shared numbers to their
// prompt language. The number "block" waits until the call is cancelled
// and then reports it on cancelled.
type fakeRooms struct {
	rooms     map[string]dialplan.Room
	shared    map[string]string
	cancelled chan struct{}
}

func (f *fakeRooms) RouteNumber(ctx context.Context, dialled string) (dialplan.Route, error) {
	if dialled == "block" {
		<-ctx.Done()
		close(f.cancelled)
		return dialplan.Route{}, ctx.Err()
	}
	if lang, ok := f.shared[dialled]; ok {
		return dialplan.Route{Number: dialplan.Number{E164: dialled, Shared: true, Lang: lang}}, nil
	}
	r, ok := f.rooms[dialled]
	if !ok {
		return dialplan.Route{}, fmt.Errorf("number: %w", dialplan.ErrNotFound)
	}
	return dialplan.Route{Number: dialplan.Number{E164: dialled, RoomSlug: r.Slug}, Room: r}, nil
}

func (f *fakeRooms) RoomByDialCode(ctx context.Context, code string) (dialplan.Room, error) {
	for _, r := range f.rooms {
		if r.DialCode != "" && r.DialCode == code {
			return r, nil
		}
	}
	return dialplan.Room{}, fmt.Errorf("code: %w", dialplan.ErrNotFound)
}

// fakeBridge records joins and the audio the caller sends. set makes its
// joins fail with err, or report the room empty (first).
type fakeBridge struct {
	joins chan joined
	mu    sync.Mutex
	err   error
	first bool
}

func (b *fakeBridge) set(err error, first bool) {
	b.mu.Lock()
	b.err, b.first = err, first
	b.mu.Unlock()
}

type joined struct {
	slug   string
	info   mixer.PhoneInfo
	leg    mixer.Leg
	member *fakeMember
}

func (b *fakeBridge) Join(slug string, info mixer.PhoneInfo, leg mixer.Leg) (Membership, error) {
	b.mu.Lock()
	err, first := b.err, b.first
	b.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("join %s: %w", slug, err)
	}
	m := &fakeMember{heard: make(chan struct{}), left: make(chan struct{}), loudSig: make(chan struct{}, 1), first: first}
	b.joins <- joined{slug: slug, info: info, leg: leg, member: m}
	return m, nil
}

type fakeMember struct {
	first     bool         // FirstInRoom
	size      atomic.Int32 // RoomSize
	mu        sync.Mutex
	frames    int
	badLen    int
	loud      int           // frames with rms > 1000
	loudSig   chan struct{} // a value after a loud frame (buffer 1)
	muted     []bool        // SetMuted calls
	heardOnce sync.Once
	heard     chan struct{} // closed at the first loud frame
	leftOnce  sync.Once
	left      chan struct{}
}

func (m *fakeMember) Push(pcm []int16) {
	m.mu.Lock()
	m.frames++
	if len(pcm) != mixer.NarrowSamples {
		m.badLen++
	}
	m.mu.Unlock()
	if rms(pcm) > 1000 {
		m.heardOnce.Do(func() { close(m.heard) })
		m.mu.Lock()
		m.loud++
		m.mu.Unlock()
		select {
		case m.loudSig <- struct{}{}:
		default:
		}
	}
}

// SetMuted implements Muter.
func (m *fakeMember) SetMuted(muted bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.muted = append(m.muted, muted)
}

func (m *fakeMember) loudFrames() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loud
}

func (m *fakeMember) Leave() { m.leftOnce.Do(func() { close(m.left) }) }

// tonePrompts returns 300 ms of a 440 Hz tone for every prompt.
type tonePrompts struct{}

func (tonePrompts) Prompt(lang string, p dialplan.Prompt) []int16 { return tone(440, 2400) }

func tone(hz float64, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/mixer.NarrowRate))
	}
	return out
}

func rms(pcm []int16) float64 {
	if len(pcm) == 0 {
		return 0
	}
	var sum float64
	for _, s := range pcm {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(len(pcm)))
}

// testLogger writes to stderr with -v (sipgo may log after a test ended,
// so not to t.Log), else discards.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (m *fakeMember) FirstInRoom() bool { return m.first }

func (m *fakeMember) RoomSize() int { return int(m.size.Load()) }
