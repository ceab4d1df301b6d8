package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"dialroom/dialplan"
	"dialroom/sfu"
)

// fakeRooms is an in-memory RoomLookup.
type fakeRooms map[string]dialplan.Room

func (f fakeRooms) RoomBySlug(_ context.Context, slug string) (dialplan.Room, error) {
	r, ok := f[slug]
	if !ok {
		return dialplan.Room{}, fmt.Errorf("room %q: %w", slug, dialplan.ErrNotFound)
	}
	return r, nil
}

var testRooms = fakeRooms{"demo": {ID: 1, Slug: "demo", Name: "Demo Room"}}

// newTestServer starts the web handler with an SFU on loopback.
func newTestServer(t *testing.T) (*httptest.Server, *sfu.Manager) {
	return newTestServerLastN(t, testAudioLastN)
}

// testAudioLastN is the server's default webrtc.audio_last_n: the browser
// tests run with audio slots, as a default server does.
const testAudioLastN = 3

// newTestServerLastN is newTestServer with audio last-N at lastN (0 = every
// browser's audio on a track of its own).
func newTestServerLastN(t *testing.T, lastN int) (*httptest.Server, *sfu.Manager) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	mgr, err := sfu.NewManager(sfu.Config{ICEIPs: []string{"127.0.0.1"}, AudioLastN: lastN}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{}, testRooms, mgr, log))
	t.Cleanup(func() {
		srv.Close()
		_ = mgr.Close()
	})
	return srv, mgr
}

func TestPages(t *testing.T) {
	srv, _ := newTestServer(t)
	tests := []struct {
		path        string
		status      int
		contentType string
		body        string
	}{
		{"/", http.StatusOK, "text/html; charset=utf-8", `action="/join"`},
		{"/r/demo", http.StatusOK, "text/html; charset=utf-8", `data-room="demo"`},
		{"/r/unknown", http.StatusNotFound, "text/html; charset=utf-8", "404"},
		{"/r/Bad%20Slug", http.StatusNotFound, "text/html; charset=utf-8", "404"},
		{"/static/app.js", http.StatusOK, "text/javascript; charset=utf-8", "import"},
		{"/static/protocol.js", http.StatusOK, "text/javascript; charset=utf-8", "export class Session"},
		{"/static/style.css", http.StatusOK, "text/css; charset=utf-8", ".tile"},
		{"/static/nope.js", http.StatusNotFound, "", ""},
		{"/nope", http.StatusNotFound, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Errorf("status: got %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.contentType != "" && resp.Header.Get("Content-Type") != tt.contentType {
				t.Errorf("content type: got %q, want %q", resp.Header.Get("Content-Type"), tt.contentType)
			}
			if !strings.Contains(string(body), tt.body) {
				t.Errorf("body: got %.200q, want it to contain %q", body, tt.body)
			}
			checkSecurityHeaders(t, resp.Header)
		})
	}
}

func checkSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "media-src 'self' blob: mediastream:"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP: got %q, want it to contain %q", csp, want)
		}
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options: got %q, want nosniff", got)
	}
	if got := h.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy: got %q, want no-referrer", got)
	}
}

func TestJoinForm(t *testing.T) {
	srv, _ := newTestServer(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		room     string
		status   int
		location string
	}{
		{"Demo", http.StatusSeeOther, "/r/demo"},
		{" team-1 ", http.StatusSeeOther, "/r/team-1"},
		{"../etc", http.StatusNotFound, ""},
		{"", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		resp, err := client.Get(srv.URL + "/join?room=" + strings.ReplaceAll(tt.room, " ", "+"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
			t.Errorf("join form %q: got %d %q, want %d %q", tt.room, resp.StatusCode,
				resp.Header.Get("Location"), tt.status, tt.location)
		}
	}
}

func TestStaticDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/app.js", []byte("// from disk"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := New(Config{StaticDir: dir}, testRooms, nil, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/static/app.js", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "// from disk" {
		t.Errorf("static dir: got %d %q, want 200 %q", rec.Code, rec.Body.String(), "// from disk")
	}
}

func TestCleanName(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"Ann", "Ann", true},
		{"  Jürgen Groß ", "Jürgen Groß", true},
		{"", "", false},
		{"   ", "", false},
		{"a\nb", "", false},
		{strings.Repeat("x", 64), strings.Repeat("x", 64), true},
		{strings.Repeat("x", 65), "", false},
		{"\xff", "", false},
	}
	for _, tt := range tests {
		got, ok := cleanName(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("cleanName(%q): got %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
