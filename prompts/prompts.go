// Package prompts holds the recorded phone announcements (German and English) and
// serves them from memory as 8 kHz PCM. The WAV files are generated once by
// scripts/gen-prompts.sh and committed; nothing here touches the disk at run time.
//
// It owns only the audio; which prompt plays when is the IVR's business (dialplan),
// and playing it to a caller is the sip package's.
package prompts

import (
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"dialroom/dialplan"
)

// SampleRate is the rate of every prompt (Hz).
const SampleRate = 8000

// DefaultLang is used when a room asks for a language that has no recordings.
const DefaultLang = "de"

//go:embed audio/*/*.wav
var files embed.FS

// Set is every prompt in every language, decoded once.
type Set struct {
	pcm map[string]map[dialplan.Prompt][]int16 // lang -> prompt -> samples
}

// Load decodes the embedded prompts. It fails only if a committed file is broken.
func Load() (*Set, error) {
	s := &Set{pcm: map[string]map[dialplan.Prompt][]int16{}}
	err := fs.WalkDir(files, "audio", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		samples, err := DecodeWAV(b)
		if err != nil {
			return fmt.Errorf("prompts: %s: %w", p, err)
		}
		lang := path.Base(path.Dir(p))
		name := dialplan.Prompt(strings.TrimSuffix(path.Base(p), ".wav"))
		if s.pcm[lang] == nil {
			s.pcm[lang] = map[dialplan.Prompt][]int16{}
		}
		s.pcm[lang][name] = samples
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Prompt returns the samples of prompt p in lang, falling back to DefaultLang.
// The slice is shared: callers must not modify it. Unknown prompts give nil.
func (s *Set) Prompt(lang string, p dialplan.Prompt) []int16 {
	if m, ok := s.pcm[lang]; ok {
		if pcm, ok := m[p]; ok {
			return pcm
		}
	}
	return s.pcm[DefaultLang][p]
}

// Langs lists the languages that have recordings.
func (s *Set) Langs() []string {
	out := make([]string, 0, len(s.pcm))
	for l := range s.pcm {
		out = append(out, l)
	}
	return out
}

// ErrFormat means a WAV file is not 8 kHz mono 16-bit PCM.
var ErrFormat = errors.New("want a RIFF/WAVE file, 8 kHz mono 16-bit PCM")

// DecodeWAV returns the samples of an 8 kHz mono 16-bit PCM WAV file.
func DecodeWAV(b []byte) ([]int16, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, ErrFormat
	}
	var fmtOK bool
	for off := 12; off+8 <= len(b); {
		id := string(b[off : off+4])
		size := int(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		body := b[off+8:]
		if size > len(body) {
			size = len(body) // tolerate a truncated last chunk
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return nil, ErrFormat
			}
			format := binary.LittleEndian.Uint16(body[0:2])
			channels := binary.LittleEndian.Uint16(body[2:4])
			rate := binary.LittleEndian.Uint32(body[4:8])
			bits := binary.LittleEndian.Uint16(body[14:16])
			// 0xFFFE is WAVE_FORMAT_EXTENSIBLE, which sox writes for some outputs.
			fmtOK = (format == 1 || format == 0xFFFE) && channels == 1 && rate == SampleRate && bits == 16
			if !fmtOK {
				return nil, ErrFormat
			}
		case "data":
			if !fmtOK {
				return nil, ErrFormat
			}
			out := make([]int16, size/2)
			for i := range out {
				out[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return out, nil
		}
		off += 8 + size + size%2 // chunks are padded to even length
	}
	return nil, ErrFormat
}
