package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"dialroom/config"
	"dialroom/dialplan"
	"dialroom/httpserve"
	"dialroom/sip"
	"dialroom/web"
)

// newHTTP builds the HTTP side: /healthz and /readyz next to the web
// handler, served plain or over HTTPS as cfg says.
func newHTTP(cfg config.Config, h http.Handler, checks []web.ReadyCheck, log *slog.Logger) (*httpserve.Server, error) {
	mux := http.NewServeMux()
	health := web.Health(checks)
	mux.Handle("/healthz", health)
	mux.Handle("/readyz", health)
	mux.Handle("/", h)
	t := cfg.HTTP.TLS
	return httpserve.New(httpserve.Config{
		Listen:         cfg.HTTP.Listen,
		RedirectListen: cfg.HTTP.RedirectListen,
		CertFile:       t.CertFile,
		KeyFile:        t.KeyFile,
		ACMEHosts:      t.ACME.Hosts,
		ACMEEmail:      t.ACME.Email,
		ACMEDirectory:  t.ACME.DirectoryURL,
		ACMECAFile:     t.ACME.CAFile,
		ACMECacheDir:   filepath.Join(cfg.DataDir, "acme"),
		TrustedProxies: cfg.HTTP.TrustedProxies,
	}, mux, log)
}

// readyChecks are what /readyz requires: SIP listening and not draining,
// the database writable. Trunk registration (issue 3) adds one check per
// configured trunk here.
func readyChecks(phones *sip.Server, store *dialplan.Store) []web.ReadyCheck {
	return []web.ReadyCheck{
		{Name: "sip", Check: func(context.Context) error {
			if phones.Draining() {
				return errors.New("shutting down")
			}
			return nil
		}},
		{Name: "database", Check: store.CheckWritable},
	}
}

// reloadOnSIGHUP re-reads the certificate files on every SIGHUP until ctx
// ends.
func reloadOnSIGHUP(ctx context.Context, srv *httpserve.Server, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := srv.Reload(); err != nil {
					log.Warn("SIGHUP: certificate reload failed; keeping the old one", "err", err)
				} else {
					log.Info("SIGHUP: configuration reloaded")
				}
			}
		}
	}()
}
