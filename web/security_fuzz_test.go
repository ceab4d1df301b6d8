package web

import (
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzRequestInputs feeds arbitrary text to the parsers of outside input
// in security.go, privacy.go and the audit API: none may panic, and each
// answer stays in its domain.
func FuzzRequestInputs(f *testing.F) {
	for _, s := range []string{"", "de-DE,de;q=0.9", "24h", "2026-01-01T00:00:00Z", "[::1]:80", "-1h", "\xff;,", "1.2.3.4"} {
		f.Add(s)
	}
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, s string) {
		r := httptest.NewRequest("GET", "/privacy", nil)
		r.Header.Set("Accept-Language", s)
		r.RemoteAddr = s
		if l := privacyLang(r); l != "de" && l != "en" {
			t.Fatalf("privacyLang(%q) = %q", s, l)
		}
		_ = sourceKey(r)
		// A duration reaches back, never forward; an RFC 3339 time may be anything.
		if got, err := parseSince(s, now); err == nil && got.After(now) {
			if _, perr := time.Parse(time.RFC3339, s); perr != nil {
				t.Fatalf("parseSince(%q) = %v, after now", s, got)
			}
		}
	})
}
