package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"dialroom/config"
	"dialroom/sip"
)

// sipLimitCollector exports the SIP per-source rate limiter's counters,
// read at scrape time like the mixer's.
type sipLimitCollector struct {
	stats                         func() sip.RateLimitStats
	limited, banned, bans, active *prometheus.Desc
	sources                       *prometheus.Desc
}

func newSIPLimitCollector(stats func() sip.RateLimitStats) *sipLimitCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("dialroom_sip_"+name, help, nil, nil)
	}
	return &sipLimitCollector{
		stats:   stats,
		limited: d("rate_limited_total", "SIP packets (UDP) or connections (TCP) dropped over a source's rate limit."),
		banned:  d("banned_dropped_total", "SIP packets or connections dropped unread because their source is banned."),
		bans:    d("bans_total", "Temporary bans imposed on SIP sources that kept exceeding the rate limit."),
		active:  d("active_bans", "SIP sources banned right now."),
		sources: d("rate_limit_sources", "Source addresses the SIP rate limiter tracks."),
	}
}

// Describe implements prometheus.Collector.
func (c *sipLimitCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.limited, c.banned, c.bans, c.active, c.sources} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *sipLimitCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.limited, prometheus.CounterValue, float64(s.Limited))
	ch <- prometheus.MustNewConstMetric(c.banned, prometheus.CounterValue, float64(s.Banned))
	ch <- prometheus.MustNewConstMetric(c.bans, prometheus.CounterValue, float64(s.Bans))
	ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(s.ActiveBans))
	ch <- prometheus.MustNewConstMetric(c.sources, prometheus.GaugeValue, float64(s.Sources))
}

// sipRateLimit converts the configuration's rate limit for the sip package.
func sipRateLimit(c config.SIPRateLimit) sip.RateLimit {
	c = c.WithDefaults()
	return sip.RateLimit{Off: c.Off, Rate: c.Rate, Burst: c.Burst, TrunkRate: c.TrunkRate,
		TrunkBurst: c.TrunkBurst, BanAfter: c.BanAfter, BanFor: c.BanFor, MaxBan: c.MaxBan,
		MaxSources: c.MaxSources}
}
