package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sync"

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
	startPprof()
	reg := prometheus.NewRegistry()
	reg.MustRegister(newMixerCollector(m), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(extra...)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", next)
	return mux
}

// pprofEnv names the environment variable that turns on Go's profiler:
// DIALROOM_PPROF=127.0.0.1:6060 serves /debug/pprof/ on that address, which
// must be a loopback IP (not a name) with a port. Unset (the default),
// nothing listens. For profiling the server under load, e.g.
// go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=60.
// (Importing net/http/pprof also registers it on http.DefaultServeMux,
// which dialroom never serves: keep it that way.)
const pprofEnv = "DIALROOM_PPROF"

var pprofOnce sync.Once

// startPprof starts the profiler listener once per process when pprofEnv
// asks for it; a bad address is reported on stderr and otherwise ignored.
func startPprof() {
	addr := os.Getenv(pprofEnv)
	if addr == "" {
		return
	}
	pprofOnce.Do(func() {
		ln, err := listenPprof(addr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "dialroom: %s: %v\n", pprofEnv, err)
			return
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		go func() { _ = http.Serve(ln, mux) }()
	})
}

// listenPprof listens on addr if it is a loopback host:port.
func listenPprof(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("want a loopback host:port: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%q is not a loopback address", host)
	}
	return net.Listen("tcp", addr)
}
