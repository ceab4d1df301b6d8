package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"dialroom/mixer"
)

// mixerCollector exports mixer.Stats as Prometheus metrics. It reads the
// mixer's own counters at scrape time, so the mixer does not depend on
// Prometheus and pays nothing per tick for it.
type mixerCollector struct {
	m *mixer.Mixer

	calls, rooms, browsers              *prometheus.Desc
	tick, depth                         *prometheus.Desc
	late, dup, lost, conceal, drop, fec *prometheus.Desc
	encodes, decodes, ticks             *prometheus.Desc
}

func newMixerCollector(m *mixer.Mixer) *mixerCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("dialroom_mixer_"+name, help, nil, nil)
	}
	return &mixerCollector{
		m:        m,
		calls:    d("calls", "Phone callers in a room's mix."),
		rooms:    d("rooms", "Rooms with a mixing loop (at least one phone caller)."),
		browsers: d("browser_inputs", "Browser audio tracks the mixer receives."),
		tick:     d("tick_duration_seconds", "CPU time of one 20 ms mixing tick of one room."),
		depth:    d("jitter_buffer_depth_frames", "Frames (20 ms) buffered per input, sampled every tick."),
		late:     d("late_packets_total", "Packets that arrived after their playout time."),
		dup:      d("duplicate_packets_total", "Duplicated packets discarded."),
		lost:     d("lost_packets_total", "Frames never received by their playout time (concealed)."),
		conceal:  d("concealed_frames_total", "Frames filled by loss concealment (lost or late)."),
		drop:     d("drift_dropped_frames_total", "Frames dropped to absorb a sender's fast clock."),
		fec:      d("fec_recovered_frames_total", "Lost browser frames recovered from Opus in-band FEC."),
		encodes:  d("opus_encodes_total", "Opus encodes of phone callers' voice (rate / 50 = encodes per tick)."),
		decodes:  d("opus_decodes_total", "Opus decodes of browser tracks (talkers only)."),
		ticks:    d("ticks_total", "Mixing ticks run, all rooms."),
	}
}

// Describe implements prometheus.Collector.
func (c *mixerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.calls, c.rooms, c.browsers, c.tick, c.depth, c.late,
		c.dup, c.lost, c.conceal, c.drop, c.fec, c.encodes, c.decodes, c.ticks} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *mixerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.Stats()
	gauge := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(c.calls, s.Calls)
	gauge(c.rooms, s.Rooms)
	gauge(c.browsers, s.BrowserInputs)
	counter(c.late, s.Late)
	counter(c.dup, s.Duplicate)
	counter(c.lost, s.Lost)
	counter(c.conceal, s.Concealed)
	counter(c.drop, s.Dropped)
	counter(c.fec, s.FEC)
	counter(c.encodes, s.Encodes)
	counter(c.decodes, s.Decodes)
	counter(c.ticks, s.Ticks)

	buckets, cum := map[float64]uint64{}, uint64(0)
	for i, b := range mixer.TickBuckets() {
		cum += s.TickCounts[i]
		buckets[b.Seconds()] = cum
	}
	ch <- prometheus.MustNewConstHistogram(c.tick, s.Ticks, s.TickSeconds, buckets)

	dbuckets, cum, sum := map[float64]uint64{}, uint64(0), 0.0
	for i, n := range s.Depth {
		cum += n
		sum += float64(i) * float64(n)
		dbuckets[float64(i)] = cum
	}
	ch <- prometheus.MustNewConstHistogram(c.depth, cum, sum, dbuckets)
}

// withMetrics serves /metrics from a registry of the mixer's, the Go
// runtime's and any extra metrics, and everything else from next. The
// registry is built here, not globally, so tests can run several servers
// in one process.
func withMetrics(next http.Handler, m *mixer.Mixer, extra ...prometheus.Collector) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newMixerCollector(m), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(extra...)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", next)
	return mux
}
