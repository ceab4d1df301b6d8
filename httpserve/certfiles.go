package httpserve

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// CertFiles serves a certificate and key loaded from PEM files. Each TLS
// handshake checks the files' size and modification time (two stat calls)
// and reloads them when either changed, so a renewed certificate (certbot,
// an operator's copy) is picked up without a restart; Reload forces it.
// When the new files do not load (say the key was not yet copied) the old
// certificate stays in use. A CertFiles is safe for concurrent use.
type CertFiles struct {
	certFile, keyFile string
	log               *slog.Logger

	mu    sync.Mutex
	cert  *tls.Certificate
	stamp [2]fileStamp // of certFile, keyFile when cert was loaded
	bad   [2]fileStamp // of the files that last failed to load (logged once)
}

type fileStamp struct {
	size int64
	mod  time.Time
}

// LoadCertFiles loads certFile and keyFile (PEM) and fails when they do
// not form a valid pair.
func LoadCertFiles(certFile, keyFile string, log *slog.Logger) (*CertFiles, error) {
	c := &CertFiles{certFile: certFile, keyFile: keyFile, log: log}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads both files again. On error the previous certificate stays.
func (c *CertFiles) Reload() error {
	stamp, err := c.stamps()
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("httpserve: load certificate: %w", err)
	}
	c.mu.Lock()
	c.cert, c.stamp = &cert, stamp
	c.mu.Unlock()
	return nil
}

func (c *CertFiles) stamps() ([2]fileStamp, error) {
	var st [2]fileStamp
	for i, name := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return st, fmt.Errorf("httpserve: certificate: %w", err)
		}
		st[i] = fileStamp{size: fi.Size(), mod: fi.ModTime()}
	}
	return st, nil
}

// GetCertificate is the tls.Config callback: it returns the current
// certificate, reloading it first when the files changed.
func (c *CertFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	st, err := c.stamps()
	c.mu.Lock()
	changed := err == nil && st != c.stamp && st != c.bad
	cert := c.cert
	c.mu.Unlock()
	if changed {
		if err := c.Reload(); err != nil {
			c.mu.Lock()
			c.bad = st
			c.mu.Unlock()
			c.log.Warn("certificate files changed but do not load; keeping the old certificate", "err", err)
		} else {
			c.log.Info("certificate reloaded", "file", c.certFile)
			c.mu.Lock()
			cert = c.cert
			c.mu.Unlock()
		}
	}
	return cert, nil
}
