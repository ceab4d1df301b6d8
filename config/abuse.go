package config

import (
	"fmt"
	"time"
)

// SIPRateLimit limits the SIP requests one source address may send
// (fail2ban-style, in memory). Zero values mean the defaults given in each
// field's comment; SIPRateLimitDefaults fills them in.
type SIPRateLimit struct {
	// Off turns the limit off entirely.
	Off bool `yaml:"off"`
	// Rate is the sustained rate, in packets (UDP) or connections (TCP)
	// per second, a source that is no trunk may send; default 20.
	Rate float64 `yaml:"rate"`
	// Burst is how many packets such a source may send at once; default 40.
	Burst int `yaml:"burst"`
	// TrunkRate is the sustained rate for a trunk's addresses; default 500.
	// Trunks are limited but never banned.
	TrunkRate float64 `yaml:"trunk_rate"`
	// TrunkBurst is a trunk's burst; default 1000.
	TrunkBurst int `yaml:"trunk_burst"`
	// BanAfter bans a source (every packet dropped unread) after this many
	// of its packets were over the limit; default 20.
	BanAfter int `yaml:"ban_after"`
	// BanFor is the first ban's length; each further ban of the same
	// source doubles it, up to MaxBan. Default 10m.
	BanFor time.Duration `yaml:"ban_for"`
	// MaxBan caps a ban's length; default 24h.
	MaxBan time.Duration `yaml:"max_ban"`
	// MaxSources bounds the table of sources kept in memory; beyond it the
	// least recently seen is forgotten. Default 10000.
	MaxSources int `yaml:"max_sources"`
}

// WithDefaults returns r with its zero fields set to the defaults.
func (r SIPRateLimit) WithDefaults() SIPRateLimit {
	if r.Rate == 0 {
		r.Rate = 20
	}
	if r.Burst == 0 {
		r.Burst = 40
	}
	if r.TrunkRate == 0 {
		r.TrunkRate = 500
	}
	if r.TrunkBurst == 0 {
		r.TrunkBurst = 1000
	}
	if r.BanAfter == 0 {
		r.BanAfter = 20
	}
	if r.BanFor == 0 {
		r.BanFor = 10 * time.Minute
	}
	if r.MaxBan == 0 {
		r.MaxBan = 24 * time.Hour
	}
	if r.MaxSources == 0 {
		r.MaxSources = 10000
	}
	return r
}

// Validate reports the first value that cannot work.
func (r SIPRateLimit) Validate() error {
	switch {
	case r.Rate < 0 || r.TrunkRate < 0:
		return fmt.Errorf("sip.rate_limit: rates must not be negative")
	case r.Burst < 0 || r.TrunkBurst < 0 || r.BanAfter < 0 || r.MaxSources < 0:
		return fmt.Errorf("sip.rate_limit: burst, ban_after and max_sources must not be negative")
	case r.BanFor < 0 || r.MaxBan < 0:
		return fmt.Errorf("sip.rate_limit: ban durations must not be negative")
	}
	return nil
}

// Privacy configures what dialroom keeps about people and for how long.
type Privacy struct {
	// RetentionDays is how long audit log entries and PIN failure records
	// are kept, in days; default 30. Older ones are deleted hourly.
	RetentionDays int `yaml:"retention_days"`
	// PageFile is an HTML fragment shown at /privacy instead of the
	// built-in text (the operator's own privacy notice); "" = built-in.
	PageFile string `yaml:"page_file"`
	// ShowNumbersToModerators shows phone callers' full numbers to the
	// moderators of their meeting (participant list). Default false: every
	// browser sees only the masked number.
	ShowNumbersToModerators bool `yaml:"show_numbers_to_moderators"`
}

// Retention is how long records are kept (RetentionDays, default 30 days).
func (p Privacy) Retention() time.Duration {
	d := p.RetentionDays
	if d == 0 {
		d = 30
	}
	return time.Duration(d) * 24 * time.Hour
}

// Validate reports the first value that cannot work.
func (p Privacy) Validate() error {
	if p.RetentionDays < 0 {
		return fmt.Errorf("privacy.retention_days: %d is negative", p.RetentionDays)
	}
	return nil
}
