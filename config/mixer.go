package config

import "fmt"

// Mixer configures the phone audio bridge.
type Mixer struct {
	// Talkers is how many of the loudest inputs of a room are mixed (1-16).
	// Everyone else in the room hears these and nothing of the rest.
	Talkers int `yaml:"talkers"`
}

func (c *Config) fillMixerDefaults() {
	if c.Mixer.Talkers == 0 {
		c.Mixer.Talkers = Default().Mixer.Talkers
	}
}

func (c Config) validateMixer() error {
	if t := c.Mixer.Talkers; t < 1 || t > 16 {
		return fmt.Errorf("mixer.talkers: %d is not between 1 and 16", t)
	}
	return nil
}
