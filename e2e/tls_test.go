package e2e

import (
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestHTTPSFromFilesWithSIGHUP runs the binary with http.tls cert_file and
// key_file and a redirect listener: plain HTTP redirects to HTTPS, the room
// page comes over HTTPS, and after the files are replaced a SIGHUP makes
// the server present the new certificate.
func TestHTTPSFromFilesWithSIGHUP(t *testing.T) {
	needTools(t)
	bin := needBinary(t)
	ctx := deadlineCtx(t, 60*time.Second)
	certDir := t.TempDir()
	cert, key := writeSelfSigned(t, certDir)
	first := fingerprint(t, cert)
	redirectPort := freeTCPPort(t)
	srv := startServerWith(t, bin,
		"http: {redirect_listen: \"127.0.0.1:"+itoa(redirectPort)+"\", tls: {cert_file: "+cert+", key_file: "+key+"}}",
		nil, testRoom)
	insecure := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	base := "https://" + srv.httpAddr
	waitNginx(ctx, t, insecure, base+"/readyz")
	if code, _ := get(t, insecure, base+"/r/e2e"); code != 200 {
		t.Errorf("room page over HTTPS: got %d, want 200", code)
	}
	resp, err := insecure.Get("http://127.0.0.1:" + itoa(redirectPort) + "/r/e2e")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 308 || loc != base+"/r/e2e" {
		t.Errorf("plain HTTP: got %d %q, want 308 %s/r/e2e", resp.StatusCode, loc, base)
	}
	if got := servedFingerprint(t, srv.httpAddr); got != first {
		t.Fatalf("served certificate is not the configured one")
	}

	// Replace the files (a renewal), then SIGHUP.
	newCert, newKey := writeSelfSigned(t, t.TempDir())
	for src, dst := range map[string]string{newCert: cert, newKey: key} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+".new", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(dst+".new", dst); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := waitLog(ctx, srv, "SIGHUP: configuration reloaded"); err != nil {
		t.Fatalf("no reload after SIGHUP: %v", err)
	}
	if got := servedFingerprint(t, srv.httpAddr); got != fingerprint(t, cert) || got == first {
		t.Errorf("after SIGHUP: still the old certificate")
	}
	if code, _ := get(t, insecure, base+"/r/e2e"); code != 200 {
		t.Errorf("room page after reload: got %d, want 200", code)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-srv.exited
	if srv.waitErr != nil {
		t.Errorf("exit after SIGTERM: got %v, want 0", srv.waitErr)
	}
}

// fingerprint returns the DER of the first certificate in a PEM file.
func fingerprint(t *testing.T, certFile string) string {
	t.Helper()
	c, err := tls.LoadX509KeyPair(certFile, filepath.Join(filepath.Dir(certFile), "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return string(c.Certificate[0])
}

// servedFingerprint returns the DER of the certificate addr presents.
func servedFingerprint(t *testing.T, addr string) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("tls dial %s: %v", addr, err)
	}
	defer c.Close()
	return string(c.ConnectionState().PeerCertificates[0].Raw)
}
