package sip

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sync"
	"testing"

	"dialroom/dialplan"
	"dialroom/mixer"
)

// fakeRooms maps dialled numbers to rooms. The number "block" waits until the
// call is cancelled and then reports it on cancelled.
type fakeRooms struct {
	rooms     map[string]dialplan.Room
	cancelled chan struct{}
}

func (f *fakeRooms) RoomForNumber(ctx context.Context, dialled string) (dialplan.Room, error) {
	if dialled == "block" {
		<-ctx.Done()
		close(f.cancelled)
		return dialplan.Room{}, ctx.Err()
	}
	r, ok := f.rooms[dialled]
	if !ok {
		return dialplan.Room{}, fmt.Errorf("number: %w", dialplan.ErrNotFound)
	}
	return r, nil
}

// fakeBridge records joins and the audio the caller sends.
type fakeBridge struct {
	joins chan joined
}

type joined struct {
	slug   string
	info   mixer.PhoneInfo
	leg    mixer.Leg
	member *fakeMember
}

func (b *fakeBridge) Join(slug string, info mixer.PhoneInfo, leg mixer.Leg) (Membership, error) {
	m := &fakeMember{heard: make(chan struct{}), left: make(chan struct{}), loudSig: make(chan struct{}, 1)}
	b.joins <- joined{slug: slug, info: info, leg: leg, member: m}
	return m, nil
}

type fakeMember struct {
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
	if len(pcm) != mixer.FrameSamples {
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
		out[i] = int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/mixer.SampleRate))
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
