package prompts

import (
	"math"
	"testing"

	"dialroom/dialplan"
)

func TestEveryPromptInEveryLanguage(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"de", "en"} {
		for _, p := range []dialplan.Prompt{dialplan.PromptEnterPIN, dialplan.PromptWrongPIN, dialplan.PromptWelcome, dialplan.PromptGoodbye, dialplan.PromptMeetingEnding,
			dialplan.PromptMuted, dialplan.PromptUnmuted, dialplan.PromptKeypadHelp} {
			pcm := s.Prompt(lang, p)
			secs := float64(len(pcm)) / SampleRate
			if secs < 0.4 || secs > 10 {
				t.Errorf("%s/%s: got %.2f s, want 0.4-10 s", lang, p, secs)
			}
			// A prompt must be audible: RMS well above silence, not clipped flat.
			var sum float64
			for _, v := range pcm {
				sum += float64(v) * float64(v)
			}
			if rms := math.Sqrt(sum / float64(len(pcm))); rms < 500 {
				t.Errorf("%s/%s: RMS %.0f, want an audible prompt (>= 500)", lang, p, rms)
			}
		}
	}
}

// TestPromptsAtOneLevel: every built-in prompt, in every language, plays at
// the same loudness (RMS within 2 dB of -20 dBFS), so a caller never has to
// reach for the volume between "enter the PIN" and "you are muted".
func TestPromptsAtOneLevel(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	all := []dialplan.Prompt{dialplan.PromptEnterPIN, dialplan.PromptWrongPIN, dialplan.PromptEnterCode,
		dialplan.PromptWrongCode, dialplan.PromptWelcome, dialplan.PromptGoodbye, dialplan.PromptMeetingEnding,
		dialplan.PromptMuted, dialplan.PromptUnmuted, dialplan.PromptKeypadHelp, dialplan.PromptFirstParticipant,
		dialplan.PromptMeetingEnded, dialplan.PromptRemoved, dialplan.PromptRoomLocked}
	for _, lang := range s.Langs() {
		for _, p := range all {
			pcm := s.Prompt(lang, p)
			var sum float64
			for _, v := range pcm {
				sum += float64(v) * float64(v)
			}
			dBFS := 20 * math.Log10(math.Sqrt(sum/float64(max(len(pcm), 1)))/32768)
			if dBFS < -22 || dBFS > -18 {
				t.Errorf("%s/%s: RMS %.1f dBFS, want -20 +-2 dBFS (run scripts/gen-prompts.sh)", lang, p, dBFS)
			}
		}
	}
}

func TestFallbackLanguage(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	got, want := s.Prompt("fr", dialplan.PromptGoodbye), s.Prompt("de", dialplan.PromptGoodbye)
	if len(got) == 0 || len(got) != len(want) {
		t.Errorf("fr goodbye: got %d samples, want the German %d", len(got), len(want))
	}
	if s.Prompt("en", "no-such-prompt") != nil {
		t.Error("unknown prompt: got samples, want nil")
	}
}

func TestDecodeWAVRejects(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":           nil,
		"not riff":        []byte("RIFX\x00\x00\x00\x00WAVE"),
		"no chunks":       []byte("RIFF\x04\x00\x00\x00WAVE"),
		"data before fmt": append([]byte("RIFF\x10\x00\x00\x00WAVEdata\x02\x00\x00\x00"), 1, 2),
	} {
		if _, err := DecodeWAV(b); err == nil {
			t.Errorf("%s: got no error, want ErrFormat", name)
		}
	}
}

func FuzzDecodeWAV(f *testing.F) {
	b, _ := files.ReadFile("audio/en/goodbye.wav")
	f.Add(b[:200])
	f.Add([]byte("RIFF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeWAV(b) // must not panic
	})
}
