package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// defaultAudioLastN is how many browser participants' audio each browser
// receives when webrtc.audio_last_n is not set.
const defaultAudioLastN = 3

// WebRTCSFU holds the SFU's forwarding settings, keys of the webrtc section.
type WebRTCSFU struct {
	// AudioLastN forwards to browsers the audio of only this many browser
	// participants, the loudest lately (phone callers are always heard);
	// 0 = everyone's audio. A pointer so that an explicit 0 differs from
	// "not set" (default 3).
	AudioLastN *AudioLastN `yaml:"audio_last_n"`
}

// LastN returns the audio last-N limit, 0 for everyone.
func (w WebRTCSFU) LastN() int {
	if w.AudioLastN == nil {
		return defaultAudioLastN
	}
	return int(*w.AudioLastN)
}

// AudioLastN is webrtc.audio_last_n: a count, 0 or more.
type AudioLastN int

// UnmarshalYAML rejects a negative count.
func (n *AudioLastN) UnmarshalYAML(v *yaml.Node) error {
	var i int
	if err := v.Decode(&i); err != nil {
		return fmt.Errorf("webrtc.audio_last_n: %w", err)
	}
	if i < 0 {
		return fmt.Errorf("webrtc.audio_last_n: %d is negative (0 = everyone's audio)", i)
	}
	*n = AudioLastN(i)
	return nil
}
