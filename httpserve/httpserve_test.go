package httpserve

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"dialroom/internal/testcert"
)

var discard = slog.New(slog.DiscardHandler)

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// common name to dir/cert.pem and dir/key.pem.
func writeCert(t *testing.T, dir, cn string) (certFile, keyFile string) {
	t.Helper()
	return testcert.Write(t, dir, cn)
}

// servedCN connects to addr over TLS and returns the certificate's CN.
func servedCN(t *testing.T, addr string) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("tls dial: %v", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

func startServer(t *testing.T, cfg Config, h http.Handler) *Server {
	t.Helper()
	s, err := New(cfg, h, discard)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: got %v, want nil", err)
		}
		if err := s.Shutdown(context.Background()); err != nil {
			t.Errorf("second Shutdown: got %v, want nil", err)
		}
	})
	return s
}

func TestCertReloadOnChangeAndSIGHUP(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "first")
	s := startServer(t, Config{Listen: "127.0.0.1:0", CertFile: cert, KeyFile: key}, http.NotFoundHandler())
	addr := s.Addr().String()
	if got := servedCN(t, addr); got != "first" {
		t.Fatalf("got CN %q, want first", got)
	}
	writeCert(t, dir, "second")
	if got := servedCN(t, addr); got != "second" {
		t.Errorf("after the files changed: got CN %q, want second", got)
	}
	// A broken key keeps the old certificate.
	if err := os.WriteFile(key, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := servedCN(t, addr); got != "second" {
		t.Errorf("after a broken key: got CN %q, want second (kept)", got)
	}
	if err := s.Reload(); err == nil {
		t.Errorf("Reload with a broken key: got nil, want an error")
	}
	writeCert(t, dir, "third")
	if err := s.Reload(); err != nil {
		t.Errorf("Reload: %v", err)
	}
	if got := servedCN(t, addr); got != "third" {
		t.Errorf("after Reload: got CN %q, want third", got)
	}
}

func TestRedirectListener(t *testing.T) {
	cert, key := writeCert(t, t.TempDir(), "x")
	s := startServer(t, Config{Listen: "127.0.0.1:0", RedirectListen: "127.0.0.1:0", CertFile: cert, KeyFile: key},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get("http://" + s.RedirectAddr().String() + "/r/demo?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := "https://127.0.0.1:" + itoa(s.Addr().Port) + "/r/demo?x=1"
	if got := resp.Header.Get("Location"); resp.StatusCode != 308 || got != want {
		t.Errorf("got %d %q, want 308 %q", resp.StatusCode, got, want)
	}
	tlsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err = tlsClient.Get(want)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Errorf("over HTTPS: got %q, want hello", body)
	}
}

func TestRedirectHTTPS(t *testing.T) {
	tests := []struct {
		host string
		port int
		want string
	}{
		{"meet.example.org", 443, "https://meet.example.org/p?q"},
		{"meet.example.org:80", 443, "https://meet.example.org/p?q"},
		{"meet.example.org:8080", 8443, "https://meet.example.org:8443/p?q"},
		{"[::1]:80", 443, "https://[::1]/p?q"},
		{"[::1]:80", 8443, "https://[::1]:8443/p?q"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/p?q", nil)
		r.Host = tt.host
		rec := httptest.NewRecorder()
		RedirectHTTPS(tt.port).ServeHTTP(rec, r)
		if got := rec.Header().Get("Location"); got != tt.want {
			t.Errorf("host %q port %d: got %q, want %q", tt.host, tt.port, got, tt.want)
		}
	}
}

func TestPlainHTTPNoRedirectListener(t *testing.T) {
	s := startServer(t, Config{Listen: "127.0.0.1:0", RedirectListen: "127.0.0.1:0"}, http.NotFoundHandler())
	if s.RedirectAddr() != nil {
		t.Errorf("plain HTTP: got redirect listener %v, want none", s.RedirectAddr())
	}
}
