package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"dialroom/config"
	"dialroom/mixer"
	"dialroom/sip"
)

func TestSIPLimitMetrics(t *testing.T) {
	m := mixer.New(noSFU{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer m.Close()
	stats := func() sip.RateLimitStats {
		return sip.RateLimitStats{Limited: 7, Banned: 9000, Bans: 2, ActiveBans: 1, Sources: 3}
	}
	h := withMetrics(http.NotFoundHandler(), m, newSIPLimitCollector(stats))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		"dialroom_sip_rate_limited_total 7",
		"dialroom_sip_banned_dropped_total 9000",
		"dialroom_sip_bans_total 2",
		"dialroom_sip_active_bans 1",
		"dialroom_sip_rate_limit_sources 3",
		"dialroom_mixer_calls 0",
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics: missing %q", want)
		}
	}
}

func TestSIPRateLimitDefaults(t *testing.T) {
	got := sipRateLimit(config.SIPRateLimit{Rate: 5})
	if got.Rate != 5 || got.Burst != 40 || got.TrunkRate != 500 || got.BanAfter != 20 || got.MaxSources != 10000 {
		t.Errorf("got %+v, want rate 5 and the other defaults", got)
	}
}
