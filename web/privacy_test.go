package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dialroom/sfu"
)

func privacyServer(t *testing.T, cfg PrivacyPage) *httptest.Server {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	mgr, err := sfu.NewManager(sfu.Config{ICEIPs: []string{"127.0.0.1"}}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Privacy: cfg}, testRooms, mgr, log))
	t.Cleanup(func() { srv.Close(); _ = mgr.Close() })
	return srv
}

func getPage(t *testing.T, url, acceptLang string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if acceptLang != "" {
		req.Header.Set("Accept-Language", acceptLang)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestPrivacyPageBuiltIn(t *testing.T) {
	srv := privacyServer(t, PrivacyPage{RetentionDays: 14})
	tests := []struct {
		query, accept, lang, contains string
	}{
		{"", "", "en", "not recorded and not stored"},
		{"", "de-DE,de;q=0.9,en;q=0.8", "de", "nicht aufgezeichnet"},
		{"", "fr-FR, de;q=0.5", "de", "Datenschutz"},
		{"?lang=en", "de", "en", "deleted after 14 days"},
		{"?lang=de", "", "de", "nach 14 Tagen gelöscht"},
		{"?lang=xx", "", "en", "Privacy"},
	}
	for _, tt := range tests {
		code, h, body := getPage(t, srv.URL+"/privacy"+tt.query, tt.accept)
		if code != 200 || !strings.Contains(body, tt.contains) || !strings.Contains(body, `<html lang="`+tt.lang+`">`) {
			t.Errorf("/privacy%s (Accept-Language %q): %d, want 200, lang %s and %q in:\n%.300s", tt.query, tt.accept, code, tt.lang, tt.contains, body)
		}
		if h.Get("Content-Security-Policy") == "" {
			t.Errorf("/privacy: no CSP")
		}
	}
	_, _, start := getPage(t, srv.URL+"/", "")
	if !strings.Contains(start, `href="/privacy"`) {
		t.Errorf("start page does not link to /privacy")
	}
}

// The operator's file replaces the built-in text; {lang} selects one file
// per language; a missing file is a clear server error, not a panic.
func TestPrivacyPageOperatorFile(t *testing.T) {
	dir := t.TempDir()
	for lang, text := range map[string]string{"de": "<p>Verantwortlich: Beispiel GmbH</p>", "en": "<p>Controller: Example Ltd</p>"} {
		if err := os.WriteFile(filepath.Join(dir, "privacy-"+lang+".html"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := privacyServer(t, PrivacyPage{File: filepath.Join(dir, "privacy-{lang}.html")})
	if code, _, body := getPage(t, srv.URL+"/privacy?lang=de", ""); code != 200 || !strings.Contains(body, "Beispiel GmbH") || strings.Contains(body, "aufgezeichnet") {
		t.Errorf("de: %d %.300s, want the operator's text only", code, body)
	}
	if code, _, body := getPage(t, srv.URL+"/privacy", "en"); code != 200 || !strings.Contains(body, "Example Ltd") {
		t.Errorf("en: %d %.300s, want the operator's text", code, body)
	}
	// An edit shows at once.
	if err := os.WriteFile(filepath.Join(dir, "privacy-en.html"), []byte("<p>New controller</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, body := getPage(t, srv.URL+"/privacy?lang=en", ""); !strings.Contains(body, "New controller") {
		t.Errorf("edited file not shown: %.300s", body)
	}

	missing := privacyServer(t, PrivacyPage{File: filepath.Join(dir, "nope.html")})
	if code, _, body := getPage(t, missing.URL+"/privacy", ""); code != 500 || strings.Contains(body, dir) {
		t.Errorf("missing file: %d %q, want 500 without the path", code, body)
	}
}
