package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"dialroom/mixer"
)

type noSFU struct{}

func (noSFU) AddPhone(string, mixer.PhoneInfo) (mixer.PhoneTrack, error) { return noTrack{}, nil }
func (noSFU) AddAudioSink(string, mixer.AudioSink) func()                { return func() {} }

type noTrack struct{}

func (noTrack) WriteOpus([]byte, time.Duration) error { return nil }
func (noTrack) SetSpeaking(bool)                      {}
func (noTrack) SetMuted(bool)                         {}
func (noTrack) Leave()                                {}

type noLeg struct{}

func (noLeg) WriteAudio([]int16) {}

func TestMetricsEndpoint(t *testing.T) {
	m := mixer.New(noSFU{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer m.Close()
	if _, err := m.Join("r", mixer.PhoneInfo{ID: "phone-1"}, noLeg{}); err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := withMetrics(next, m)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		"dialroom_mixer_calls 1",
		"dialroom_mixer_rooms 1",
		"dialroom_mixer_tick_duration_seconds_bucket",
		"dialroom_mixer_jitter_buffer_depth_frames_bucket",
		"dialroom_mixer_lost_packets_total 0",
		"dialroom_mixer_opus_encodes_total",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics: missing %q", want)
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/r/demo", nil))
	if rec.Code != http.StatusTeapot {
		t.Errorf("other paths: got status %d, want %d (passed to the web handler)", rec.Code, http.StatusTeapot)
	}
}

// TestPprofLoopbackOnly: the profiler listens only on a loopback address.
func TestPprofLoopbackOnly(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.1:6060", "localhost:0", "127.0.0.1"} {
		if ln, err := listenPprof(addr); err == nil {
			ln.Close()
			t.Errorf("listenPprof(%q): want an error", addr)
		}
	}
	ln, err := listenPprof("127.0.0.1:0")
	if err != nil {
		t.Fatalf("listenPprof on loopback: %v", err)
	}
	ln.Close()
}
