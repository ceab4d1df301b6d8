package httpserve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// Config selects how the handler is served. With neither CertFile nor
// ACMEHosts, Listen serves plain HTTP.
type Config struct {
	Listen         string   // main listener: HTTPS when TLS is on, else HTTP
	RedirectListen string   // plain HTTP that redirects to HTTPS and answers ACME http-01; "" = none
	CertFile       string   // PEM certificate chain; with KeyFile
	KeyFile        string   // PEM private key
	ACMEHosts      []string // host names to get certificates for over ACME
	ACMEEmail      string   // contact for the ACME account; may be ""
	ACMEDirectory  string   // ACME directory URL; "" = Let's Encrypt
	ACMECAFile     string   // PEM root CA of a private ACME server; "" = system roots
	ACMECacheDir   string   // where account key and certificates are kept
	TrustedProxies []string // IPs or prefixes whose X-Forwarded-* headers count
}

// TLS reports whether cfg turns HTTPS on.
func (c Config) TLS() bool { return c.CertFile != "" || len(c.ACMEHosts) > 0 }

// Server is the set of HTTP listeners of one process.
type Server struct {
	main, redirect     *http.Server
	mainLn, redirectLn net.Listener
	certs              *CertFiles // nil unless serving from files
	closeOnce          sync.Once
}

// New opens the listeners and prepares TLS; Serve starts serving.
func New(cfg Config, h http.Handler, log *slog.Logger) (*Server, error) {
	trusted, err := ParseTrusted(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("httpserve: %w", err)
	}
	s := &Server{main: newHTTPServer(Forwarded(trusted, h), log)}
	var acmeHTTP func(http.Handler) http.Handler
	switch {
	case cfg.CertFile != "":
		if s.certs, err = LoadCertFiles(cfg.CertFile, cfg.KeyFile, log); err != nil {
			return nil, err
		}
		s.main.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certs.GetCertificate}
	case len(cfg.ACMEHosts) > 0:
		m, err := acmeManager(cfg)
		if err != nil {
			return nil, err
		}
		s.main.TLSConfig = m.TLSConfig()
		s.main.TLSConfig.MinVersion = tls.VersionTLS12
		acmeHTTP = m.HTTPHandler
	}
	if s.mainLn, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("httpserve: listen %s: %w", cfg.Listen, err)
	}
	if cfg.RedirectListen != "" && cfg.TLS() {
		var rh http.Handler = RedirectHTTPS(s.mainLn.Addr().(*net.TCPAddr).Port)
		if acmeHTTP != nil {
			rh = acmeHTTP(rh)
		}
		s.redirect = newHTTPServer(rh, log)
		if s.redirectLn, err = net.Listen("tcp", cfg.RedirectListen); err != nil {
			s.mainLn.Close()
			return nil, fmt.Errorf("httpserve: listen %s: %w", cfg.RedirectListen, err)
		}
	}
	return s, nil
}

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

// acmeManager builds the autocert manager: certificates only for the
// configured hosts, cached in cfg.ACMECacheDir.
func acmeManager(cfg Config) (*autocert.Manager, error) {
	if err := os.MkdirAll(cfg.ACMECacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("httpserve: acme cache: %w", err)
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		HostPolicy: autocert.HostWhitelist(cfg.ACMEHosts...),
		Cache:      autocert.DirCache(cfg.ACMECacheDir),
		Email:      cfg.ACMEEmail,
	}
	if cfg.ACMEDirectory != "" || cfg.ACMECAFile != "" {
		m.Client = &acme.Client{DirectoryURL: cfg.ACMEDirectory}
	}
	if cfg.ACMECAFile != "" {
		pem, err := os.ReadFile(cfg.ACMECAFile)
		if err != nil {
			return nil, fmt.Errorf("httpserve: acme ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("httpserve: acme ca_file %s: no PEM certificate", cfg.ACMECAFile)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		m.Client.HTTPClient = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	if m.Client != nil && m.Client.DirectoryURL == "" {
		m.Client.DirectoryURL = autocert.DefaultACMEDirectory
	}
	return m, nil
}

// Addr is the main listener's address.
func (s *Server) Addr() *net.TCPAddr { return s.mainLn.Addr().(*net.TCPAddr) }

// RedirectAddr is the redirect listener's address, or nil.
func (s *Server) RedirectAddr() *net.TCPAddr {
	if s.redirectLn == nil {
		return nil
	}
	return s.redirectLn.Addr().(*net.TCPAddr)
}

// Serve serves until Shutdown; it returns nil after Shutdown, else the
// first listener's error.
func (s *Server) Serve() error {
	errc := make(chan error, 2)
	go func() {
		if s.main.TLSConfig != nil {
			errc <- s.main.ServeTLS(s.mainLn, "", "")
			return
		}
		errc <- s.main.Serve(s.mainLn)
	}()
	n := 1
	if s.redirect != nil {
		n++
		go func() { errc <- s.redirect.Serve(s.redirectLn) }()
	}
	var err error
	for range n {
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
			err = e
			go s.Shutdown(context.Background())
		}
	}
	return err
}

// Reload re-reads the certificate files (SIGHUP); without them it does
// nothing.
func (s *Server) Reload() error {
	if s.certs == nil {
		return nil
	}
	return s.certs.Reload()
}

// Shutdown stops accepting, waits for open requests until ctx ends, then
// closes what is left. Hijacked connections (WebSockets) are not waited
// for: the rooms close them. Safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.closeOnce.Do(func() {
		servers := []*http.Server{s.main}
		if s.redirect != nil {
			servers = append(servers, s.redirect)
		}
		for _, srv := range servers {
			if e := srv.Shutdown(ctx); e != nil {
				err = errors.Join(err, e, srv.Close())
			}
		}
		// Shutdown does not close a listener that Serve never used.
		s.mainLn.Close()
		if s.redirectLn != nil {
			s.redirectLn.Close()
		}
	})
	return err
}
