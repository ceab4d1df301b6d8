package e2e

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// firstRoom is an English room, so its prompts are prompts/audio/en.
var firstRoom = roomSpec{slug: "first", name: "First", pin: testPIN, number: testNumber, lang: "en"}

// TestFirstParticipantAndJoinChime: the first sipp caller into an empty
// room hears "you are the first participant" (the audio it receives
// correlates with the prompt's recording), the second caller does not,
// and when the second joins, the first hears the rising join chime
// (C5 then G5).
func TestFirstParticipantAndJoinChime(t *testing.T) {
	needTools(t, "sipp", "sox", "tshark")
	bin := needBinary(t)
	ctx := deadlineCtx(t, 90*time.Second)
	prompt := readPromptWAV(t, filepath.Join("..", "prompts", "audio", "en", "first_participant.wav"))
	srv := startServer(t, bin, firstRoom)

	mpA := freeUDPPort(t)
	captA := startCapture(t, mpA)
	a := startSipp(t, phoneCall(srv, callerDir(t, 0), 40000, mpA))
	if err := countLog(ctx, srv, "caller joined room", 1); err != nil {
		t.Fatalf("first caller: %v\n%s", err, a.trace())
	}
	joinedA := time.Now().Add(-time.Second) // the join log line comes a little after the join
	corrA, err := waitPrompt(ctx, captA, joinedA, prompt)
	if err != nil {
		t.Fatalf("first caller: %v", err)
	}
	t.Logf("first caller: correlation with first_participant.wav %.2f", corrA)

	mpB := freeUDPPort(t)
	captB := startCapture(t, mpB)
	b := startSipp(t, phoneCall(srv, callerDir(t, 0), 20000, mpB))
	if err := countLog(ctx, srv, "caller joined room", 2); err != nil {
		t.Fatalf("second caller: %v\n%s", err, b.trace())
	}
	joinedB := time.Now().Add(-time.Second)
	if err := waitChime(ctx, captA, joinedB); err != nil {
		t.Fatalf("first caller, second joining: %v", err)
	}
	t.Logf("first caller heard the join chime within %v of the second caller's join", time.Since(joinedB).Round(100*time.Millisecond))

	// The second caller's first 4 s in the room hold no such prompt.
	var audioB []float64
	err = poll(ctx, 250*time.Millisecond, func() error {
		var err error
		if audioB, _, err = captB.audioSince(joinedB); err != nil {
			return err
		}
		if len(audioB) < 4*8000 {
			return fmt.Errorf("second caller: %d samples since its join, want 4 s", len(audioB))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := bestCorrelation(audioB[:4*8000], prompt); c > 0.3 {
		t.Errorf("second caller: correlation %.2f with first_participant.wav, want <= 0.3 (it is not first)", c)
	}
}

// readPromptWAV reads a 16-bit mono WAV as samples in [-1, 1].
func readPromptWAV(t *testing.T, path string) []float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("%s: not a WAV file", path)
	}
	for off := 12; off+8 <= len(b); {
		id, n := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		off += 8
		if id == "data" {
			data := b[off:min(off+n, len(b))]
			out := make([]float64, len(data)/2)
			for i := range out {
				out[i] = float64(int16(binary.LittleEndian.Uint16(data[2*i:]))) / math.MaxInt16
			}
			return out
		}
		off += n + n%2
	}
	t.Fatalf("%s: no data chunk", path)
	return nil
}

// waitPrompt polls until the audio received since t0 holds the whole
// prompt and returns its best normalised correlation with the prompt's
// first 1.5 s, which must reach 0.7 (G.711 keeps it near 1).
func waitPrompt(ctx context.Context, c *capture, t0 time.Time, prompt []float64) (float64, error) {
	var best float64
	err := poll(ctx, 500*time.Millisecond, func() error {
		audio, _, err := c.audioSince(t0)
		if err != nil {
			return err
		}
		if len(audio) < len(prompt)+8000 {
			return fmt.Errorf("%d samples since the join, want the prompt's %d and 1 s", len(audio), len(prompt))
		}
		if best = bestCorrelation(audio, prompt); best < 0.7 {
			return fmt.Errorf("best correlation with first_participant.wav %.2f, want >= 0.7", best)
		}
		return nil
	})
	return best, err
}

// bestCorrelation is the highest normalised cross-correlation (-1..1) of
// the first 1.5 s of ref with audio, over every lag in audio's first 4 s.
func bestCorrelation(audio, ref []float64) float64 {
	ref = ref[:min(len(ref), 12000)]
	var refE float64
	for _, x := range ref {
		refE += x * x
	}
	best := 0.0
	for lag := 0; lag+len(ref) <= len(audio) && lag < 4*8000; lag++ {
		seg := audio[lag : lag+len(ref)]
		var dot, e float64
		for i, x := range ref {
			dot += x * seg[i]
			e += seg[i] * seg[i]
		}
		if e > 0 {
			best = max(best, dot/math.Sqrt(refE*e))
		}
	}
	return best
}

// waitChime polls until the audio since t0 holds the join chime: 150 ms
// at 523 Hz followed at once by 150 ms at 784 Hz (sip/tones.go).
func waitChime(ctx context.Context, c *capture, t0 time.Time) error {
	return poll(ctx, 250*time.Millisecond, func() error {
		audio, _, err := c.audioSince(t0)
		if err != nil {
			return err
		}
		const win, step = 800, 160 // 100 ms windows, 20 ms apart
		low := -1
		for off := 0; off+win <= len(audio); off += step {
			w := audio[off : off+win]
			if RMS(w) < minLevel {
				continue
			}
			switch {
			case low < 0 && ToneShare(w, 8000, 523) > 0.5:
				low = off
			case low >= 0 && ToneShare(w, 8000, 784) > 0.5:
				if off-low > 2400 {
					return errors.New("784 Hz came too long after 523 Hz")
				}
				return nil
			}
		}
		return fmt.Errorf("no rising chime (523 Hz then 784 Hz) in %.1f s since the join", float64(len(audio))/8000)
	})
}
