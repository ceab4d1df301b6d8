package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestBucketTable(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	bt := newBucketTable(webLimit{Rate: 2, Burst: 3}, 2, func() time.Time { return now })
	a, b, c := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	for i := range 3 {
		if _, ok := bt.take(a); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	wait, ok := bt.take(a)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the burst: ok %v wait %v, want refused, 500ms", ok, wait)
	}
	if _, ok := bt.take(b); !ok {
		t.Errorf("another source refused")
	}
	now = now.Add(500 * time.Millisecond)
	if _, ok := bt.take(a); !ok {
		t.Errorf("refused after the wait it was told")
	}
	bt.take(c) // third source: the least recently seen (b) goes
	if len(bt.buckets) != 2 {
		t.Errorf("%d buckets, want at most 2", len(bt.buckets))
	}
	if _, found := bt.buckets[b]; found {
		t.Errorf("the least recently seen source was kept")
	}
}

func TestSourceKey(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"192.0.2.1:5000", "192.0.2.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::"},
		{"[::ffff:192.0.2.9]:1", "192.0.2.9"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if got := sourceKey(r); got.String() != tt.want {
			t.Errorf("sourceKey(%s) = %s, want %s", tt.remote, got, tt.want)
		}
	}
}

// The limits apply per source and per route class: a source over the join
// limit still reaches the API, static files and the start page, and other
// sources are not affected.
func TestRateLimitRoutes(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	sec := newSecurity(webLimit{Rate: 1, Burst: 2}, webLimit{Rate: 1, Burst: 1}, func() time.Time { return now })
	h := sec.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	get := func(path, from string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = from + ":4000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	const a, b = "198.51.100.1", "198.51.100.2"
	steps := []struct {
		path, from string
		want       int
	}{
		{"/r/demo", a, 200}, {"/ws", a, 200}, {"/join", a, 429}, {"/r/other", a, 429},
		{"/r/demo", b, 200},
		{"/api/v1/rooms", a, 200}, {"/api/v1/rooms", a, 429},
		{"/", a, 200}, {"/static/app.js", a, 200}, {"/privacy", a, 200},
	}
	for _, st := range steps {
		rec := get(st.path, st.from)
		if rec.Code != st.want {
			t.Errorf("GET %s from %s: %d, want %d", st.path, st.from, rec.Code, st.want)
		}
		if rec.Code == 429 && rec.Header().Get("Retry-After") != "1" {
			t.Errorf("GET %s: Retry-After %q, want 1", st.path, rec.Header().Get("Retry-After"))
		}
		if rec.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no CSP on a %d", st.path, rec.Code)
		}
	}
	now = now.Add(time.Second)
	if rec := get("/join", a); rec.Code != 200 {
		t.Errorf("after 1 s: %d, want 200", rec.Code)
	}
}

// Through the real handler: every response carries the strict headers,
// and a burst of API requests from one source ends in 429 with
// Retry-After and a JSON error.
func TestSecurityHeadersAndAPILimit(t *testing.T) {
	srv, _, token := newAdminServer(t)
	for _, path := range []string{"/", "/r/nope", "/static/app.js", "/api/v1/rooms", "/ws"} {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		checkSecurityHeaders(t, h)
		for name, want := range map[string]string{
			"X-Frame-Options":    "DENY",
			"Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self)",
		} {
			if !strings.Contains(h.Get(name), want) {
				t.Errorf("%s: %s = %q, want it to contain %q", path, name, h.Get(name), want)
			}
		}
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"frame-ancestors 'none'", "object-src 'none'", "style-src 'self';"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q allows inline code", path, csp)
		}
	}

	limited := false
	for i := 0; i < 2000 && !limited; i++ {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/rooms", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			limited = true
			var e apiError
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error != "rate_limited" {
				t.Errorf("429 body: %+v, %v; want error rate_limited", e, err)
			}
			if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || n < 1 {
				t.Errorf("Retry-After %q, want whole seconds >= 1", resp.Header.Get("Retry-After"))
			}
		}
		resp.Body.Close()
	}
	if !limited {
		t.Errorf("2000 API requests from one source were never limited")
	}
}
