package main

import (
	"context"
	"errors"
	"fmt"
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
// the database writable, and every registration trunk registered.
func readyChecks(phones *sip.Server, store *dialplan.Store, trunks []config.Trunk) []web.ReadyCheck {
	checks := []web.ReadyCheck{
		{Name: "sip", Check: func(context.Context) error {
			if phones.Draining() {
				return errors.New("shutting down")
			}
			return nil
		}},
		{Name: "database", Check: store.CheckWritable},
	}
	for _, t := range trunks {
		if t.Register == nil {
			continue // an IP trunk has no state of its own to be ready in
		}
		name := t.Name
		checks = append(checks, web.ReadyCheck{Name: "trunk " + name, Check: func(context.Context) error {
			return registered(phones.TrunkStates(), name)
		}})
	}
	return checks
}

// registered reports why trunk name is not registered, or nil if it is.
func registered(states []sip.TrunkState, name string) error {
	for _, st := range states {
		if st.Name != name {
			continue
		}
		switch {
		case st.Registered:
			return nil
		case st.LastError != "":
			return fmt.Errorf("not registered: %s", st.LastError)
		}
		break
	}
	return errors.New("not registered yet")
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
