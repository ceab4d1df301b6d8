package prompts

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"dialroom/dialplan"
)

// wav encodes samples as an 8 kHz mono 16-bit WAV file (rate is settable
// to make a wrong one).
func wav(samples []int16, rate uint32) []byte {
	data := make([]byte, 2*len(samples))
	for i, v := range samples {
		binary.LittleEndian.PutUint16(data[2*i:], uint16(v))
	}
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+len(data)))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], 1)
	binary.LittleEndian.PutUint32(h[24:], rate)
	binary.LittleEndian.PutUint32(h[28:], rate*2)
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(len(data)))
	return append(h, data...)
}

func TestLoadWithOverrides(t *testing.T) {
	dir := t.TempDir()
	mine := []int16{1, 2, 3, 4}
	for _, p := range []string{"de/enter_pin.wav", "fr/goodbye.wav"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), wav(mine, SampleRate), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := LoadWithOverrides(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Prompt("de", dialplan.PromptEnterPIN); !slices.Equal(got, mine) {
		t.Errorf("de enter_pin: got %d samples, want the replacement's 4", len(got))
	}
	if got := s.Prompt("fr", dialplan.PromptGoodbye); !slices.Equal(got, mine) {
		t.Errorf("fr goodbye: got %d samples, want the added recording", len(got))
	}
	embedded, _ := Load()
	if got, want := s.Prompt("en", dialplan.PromptEnterPIN), embedded.Prompt("en", dialplan.PromptEnterPIN); !slices.Equal(got, want) {
		t.Errorf("en enter_pin changed, want the embedded recording")
	}
	if err := os.WriteFile(filepath.Join(dir, "de", "welcome.wav"), wav(mine, 44100), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadWithOverrides(dir); err == nil || !strings.Contains(err.Error(), "welcome.wav") {
		t.Errorf("44.1 kHz recording: got %v, want an error naming the file", err)
	}
	if _, err := LoadWithOverrides(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("missing directory: got nil error, want one")
	}
}
