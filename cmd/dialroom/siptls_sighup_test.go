package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"dialroom/config"
	"dialroom/internal/testcert"
	"dialroom/sip"
)

// lockedLog is a log sink safe for concurrent writes.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// overwriteKeepingStamp replaces the content of dst with src's, which has
// the same size, and restores dst's modification time: a change the
// per-handshake check (size and mtime) cannot see, as with `cp -p` or a
// copy within the file system's timestamp granularity.
func overwriteKeepingStamp(t *testing.T, dst string, content []byte) {
	t.Helper()
	fi, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(content)) != fi.Size() {
		t.Fatalf("%s: new content has %d bytes, want %d", dst, len(content), fi.Size())
	}
	if err := os.WriteFile(dst, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(dst, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// sameSizeCert writes certificates for cn until one has the sizes of
// certFile and keyFile (ECDSA signatures vary by a byte or two) and
// returns its PEM bytes.
func sameSizeCert(t *testing.T, cn, certFile, keyFile string) (cert, key []byte) {
	t.Helper()
	cfi, err := os.Stat(certFile)
	if err != nil {
		t.Fatal(err)
	}
	kfi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	for range 200 {
		c, k := testcert.Write(t, t.TempDir(), cn)
		cert, err1 := os.ReadFile(c)
		key, err2 := os.ReadFile(k)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if int64(len(cert)) == cfi.Size() && int64(len(key)) == kfi.Size() {
			return cert, key
		}
	}
	t.Fatal("no certificate of the same size in 200 tries")
	return nil, nil
}

// SIGHUP makes the SIP TLS listener reload its certificate and key even
// when the files' size and modification time did not change; a new
// certificate that does not load is refused, logged with the reason, and
// the one in use stays.
func TestSIGHUPReloadsSIPTLSCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := testcert.Write(t, dir, "old")
	logs := &lockedLog{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	files, err := sipTLS(config.SIPTLS{Listen: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile}, log)
	if err != nil {
		t.Fatal(err)
	}
	phones, err := sip.New(sip.Config{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0", GetCertificate: files.getCertificate},
		nil, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- phones.Serve(context.Background()) }()
	defer func() {
		if err := phones.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		<-served
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reloadOnSIGHUP(ctx, log, reloadable{"sip tls certificate", files.certs.Reload})

	presented := func() string {
		t.Helper()
		d := &tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} // only the certificate's name is looked at
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		c, err := d.DialContext(dctx, "tcp", phones.TLSAddr().String())
		if err != nil {
			t.Fatalf("TLS handshake: %v", err)
		}
		defer c.Close()
		return c.(*tls.Conn).ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	hup := func() {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	waitLog := func(s string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(logs.String(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("log lacks %q:\n%s", s, logs)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if got := presented(); got != "old" {
		t.Fatalf("certificate at start: got %q, want old", got)
	}

	cert, key := sameSizeCert(t, "new", certFile, keyFile)
	overwriteKeepingStamp(t, certFile, cert)
	overwriteKeepingStamp(t, keyFile, key)
	if got := presented(); got != "old" {
		t.Fatalf("before SIGHUP: got %q, want old (the change is invisible to the per-handshake check)", got)
	}
	hup()
	waitLog("SIGHUP: configuration reloaded")
	if got := presented(); got != "new" {
		t.Errorf("after SIGHUP: got %q, want new", got)
	}

	garbage := bytes.Repeat([]byte("x"), len(cert))
	overwriteKeepingStamp(t, certFile, garbage)
	hup()
	waitLog(`msg="SIGHUP: reload failed; keeping the old one" what="sip tls certificate"`)
	if got := presented(); got != "new" {
		t.Errorf("after SIGHUP with a bad certificate: got %q, want new (kept)", got)
	}
	if n := strings.Count(logs.String(), "SIGHUP: configuration reloaded"); n != 1 {
		t.Errorf("log says reloaded %d times, want once (the bad certificate is no reload)", n)
	}
}
