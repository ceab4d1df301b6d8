package httpserve

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// pebbleModule is the ACME test server (Let's Encrypt's pebble) the test
// builds from the Go module proxy; the build is cached by Go.
const pebbleModule = "github.com/letsencrypt/pebble/v2/cmd/"

const pebbleVersion = "v2.10.3"

// acmeHost is the name the certificate is for; pebble's DNS mock
// (pebble-challtestsrv) answers 127.0.0.1 for every name.
const acmeHost = "dialroom.test"

// TestACMEWithPebble gets a certificate from a real ACME server on
// loopback: pebble validates the challenge against our listeners, the
// certificate chains to pebble's root, and a restarted server serves it from
// the cache without asking pebble again.
func TestACMEWithPebble(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs pebble")
	}
	bin := buildPebble(t)
	dir := t.TempDir()
	pebbleCert, pebbleKey := writeCert(t, dir, "pebble")
	dnsPort, tlsPort, httpPort := freeUDP(t), freeTCP(t), freeTCP(t)
	acmePort, mgmtPort := freeTCP(t), freeTCP(t)
	startProcess(t, filepath.Join(bin, "pebble-challtestsrv"), nil,
		"-dnsserver", "127.0.0.1:"+itoa(dnsPort), "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "", "-management", "127.0.0.1:"+itoa(freeTCP(t)))
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress": "127.0.0.1:" + itoa(acmePort), "managementListenAddress": "127.0.0.1:" + itoa(mgmtPort),
		"certificate": pebbleCert, "privateKey": pebbleKey, "httpPort": httpPort, "tlsPort": tlsPort,
		"ocspResponderURL": "", "externalAccountBindingRequired": false,
		"retryAfter": map[string]int{"authz": 1, "order": 1},
	}}
	cfgFile := filepath.Join(dir, "pebble.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	pebble := startProcess(t, filepath.Join(bin, "pebble"), []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"},
		"-config", cfgFile, "-dnsserver", "127.0.0.1:"+itoa(dnsPort))
	pebbleClient := clientTrusting(t, pebbleCert)
	waitOK(t, pebbleClient, "https://127.0.0.1:"+itoa(acmePort)+"/dir")

	proxy := finalizeLocationProxy(t, "https://127.0.0.1:"+itoa(acmePort), pebbleCert, pebbleKey)
	cache := filepath.Join(dir, "acme")
	conf := Config{
		Listen: "127.0.0.1:" + itoa(tlsPort), RedirectListen: "127.0.0.1:" + itoa(httpPort),
		ACMEHosts: []string{acmeHost}, ACMEDirectory: proxy + "/dir",
		ACMECAFile: pebbleCert, ACMECacheDir: cache,
	}
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello over acme") })
	s := startServer(t, conf, hello)

	roots := x509.NewCertPool()
	_, root := get(t, pebbleClient, "https://127.0.0.1:"+itoa(mgmtPort)+"/roots/0")
	if !roots.AppendCertsFromPEM([]byte(root)) {
		t.Fatalf("pebble root: no PEM in %q", root)
	}
	start := time.Now()
	if body := getVerified(t, s.Addr().String(), roots); body != "hello over acme" {
		t.Errorf("over the ACME certificate: got %q, want hello over acme", body)
	}
	t.Logf("certificate issued by pebble and verified in %v", time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(cache, acmeHost)); err != nil {
		t.Errorf("certificate not cached: %v", err)
	}

	// Restart without pebble: the cached certificate must be served.
	pebble.Process.Kill()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s2 := startServer(t, conf, hello)
	if body := getVerified(t, s2.Addr().String(), roots); body != "hello over acme" {
		t.Errorf("after restart from cache: got %q, want hello over acme", body)
	}
}

// finalizeLocationProxy forwards to pebble and adds the Location header
// that pebble leaves out of its finalize responses but Let's Encrypt sends
// and golang.org/x/crypto/acme needs (to poll the order). Pebble builds its
// URLs from the Host header, which the proxy keeps, so every URL the client
// sees points at the proxy.
func finalizeLocationProxy(t *testing.T, pebble, certFile, keyFile string) string {
	t.Helper()
	target, err := url.Parse(pebble)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = clientTrusting(t, certFile).Transport
	rp.ModifyResponse = func(resp *http.Response) error {
		p := resp.Request.URL.Path
		if id, ok := strings.CutPrefix(p, "/finalize-order/"); ok && resp.Header.Get("Location") == "" {
			resp.Header.Set("Location", "https://"+resp.Request.Host+"/my-order/"+id)
		}
		return nil
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(rp)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// buildPebble installs pebble and pebble-challtestsrv into a temporary
// directory with "go install" and returns it.
func buildPebble(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install",
		pebbleModule+"pebble@"+pebbleVersion, pebbleModule+"pebble-challtestsrv@"+pebbleVersion)
	cmd.Dir = bin
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install pebble: %v\n%s", err, out)
	}
	return bin
}

// getVerified connects to addr as acmeHost, verifying the certificate
// against roots, and returns the body of GET /.
func getVerified(t *testing.T, addr string, roots *x509.CertPool) string {
	t.Helper()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: acmeHost},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	c := &http.Client{Transport: tr, Timeout: 90 * time.Second}
	code, body := get(t, c, "https://"+acmeHost+"/")
	if code != 200 {
		t.Fatalf("GET over ACME certificate: got %d %q", code, body)
	}
	return body
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func clientTrusting(t *testing.T, certFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
}

// waitOK polls url until it answers 200, for at most 30 s.
func waitOK(t *testing.T, c *http.Client, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
		select {
		case <-ctx.Done():
			t.Fatalf("%s not answering: %v", url, last)
		case <-tick.C:
		}
	}
}

// startProcess starts name with args; Cleanup kills it and, when the test
// failed, prints its output.
func startProcess(t *testing.T, name string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), out.String())
		}
	})
	return cmd
}

func freeTCP(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func freeUDP(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func itoa(n int) string { return strconv.Itoa(n) }

// lockedBuffer collects a process's output; safe for its writers and the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
