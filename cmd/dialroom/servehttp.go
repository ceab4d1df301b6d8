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
	"dialroom/httpserve"
	"dialroom/sip"
	"dialroom/web"
)

// newHTTP builds the HTTP side: /healthz and /readyz next to the web
// handler, served plain or over HTTPS as cfg says.
func newHTTP(cfg config.Config, h http.Handler, checks func() []web.ReadyCheck, log *slog.Logger) (*httpserve.Server, error) {
	mux := http.NewServeMux()
	health := web.HealthFunc(checks)
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

// readySIP is what /readyz asks the SIP server.
type readySIP interface {
	Draining() bool
	RegistrationTrunks() []string
	TrunkStates() []sip.TrunkState
}

// readyChecks lists, at each /readyz request, what it requires: SIP
// listening and not draining, the database writable, and every
// registration trunk registered, those of the configuration file and
// those stored in the database alike (as the SIP server runs them now).
func readyChecks(phones readySIP, writable func(context.Context) error) func() []web.ReadyCheck {
	return func() []web.ReadyCheck {
		checks := []web.ReadyCheck{
			{Name: "sip", Check: func(context.Context) error {
				if phones.Draining() {
					return errors.New("shutting down")
				}
				return nil
			}},
			{Name: "database", Check: writable},
		}
		for _, name := range phones.RegistrationTrunks() {
			checks = append(checks, web.ReadyCheck{Name: "trunk " + name, Check: func(context.Context) error {
				return registered(phones.TrunkStates(), name)
			}})
		}
		return checks
	}
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

// reloadable is one thing a SIGHUP reloads.
type reloadable struct {
	name   string       // for the log, e.g. "sip tls certificate"
	reload func() error // on error the old state must stay in use
}

// reloadOnSIGHUP reloads each of items on every SIGHUP until ctx ends: the
// certificate files (HTTPS, SIP over TLS) even when their size and
// modification time did not change, and the stored trunks. A failure is
// logged with its reason and leaves that item as it was; the others
// reload all the same. The signal handler is installed before it returns.
func reloadOnSIGHUP(ctx context.Context, log *slog.Logger, items ...reloadable) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				failed := false
				for _, it := range items {
					if err := it.reload(); err != nil {
						failed = true
						log.Warn("SIGHUP: reload failed; keeping the old one", "what", it.name, "err", err)
					}
				}
				if !failed {
					log.Info("SIGHUP: configuration reloaded")
				}
			}
		}
	}()
}
