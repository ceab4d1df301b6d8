package prompts

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"dialroom/dialplan"
)

// LoadWithOverrides decodes the embedded prompts, then replaces (or adds)
// each prompt for which dir holds a recording: dir/LANG/NAME.wav, e.g.
// dir/de/enter_pin.wav, 8 kHz mono 16-bit PCM (sox in.wav -r 8000 -c 1 -b 16
// out.wav converts). dir "" means no overrides. A file that is not such a
// WAV is an error, so a bad recording is noticed at start, not by a caller.
func LoadWithOverrides(dir string) (*Set, error) {
	s, err := Load()
	if err != nil || dir == "" {
		return s, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.wav"))
	if err != nil {
		return nil, fmt.Errorf("prompts: %s: %w", dir, err)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("prompts: %w", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("prompts: %w", err)
		}
		pcm, err := DecodeWAV(b)
		if err != nil {
			return nil, fmt.Errorf("prompts: %s: %w", f, err)
		}
		lang := filepath.Base(filepath.Dir(f))
		name := dialplan.Prompt(strings.TrimSuffix(filepath.Base(f), ".wav"))
		if s.pcm[lang] == nil {
			s.pcm[lang] = map[dialplan.Prompt][]int16{}
		}
		s.pcm[lang][name] = pcm
	}
	return s, nil
}
