package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"dialroom/config"
	"dialroom/dialplan"
	"dialroom/sip"
	"dialroom/web"
)

// trunkPollInterval is how often the running server checks the database
// for trunk changes made by the CLI (one small query).
const trunkPollInterval = 5 * time.Second

// storedSIPTrunk converts a trunk of the database for package sip. The
// store validated it, so its sources parse.
func storedSIPTrunk(t dialplan.StoredTrunk) sip.Trunk {
	srcs, _ := dialplan.ParseTrunkSources(t.Sources)
	st := sip.Trunk{Name: t.Name, Sources: srcs, Username: t.Username, Password: t.Password,
		MaxCalls: t.MaxCalls, MaxDuration: t.MaxDuration, SRTP: sip.SRTPMode(t.SRTP)}
	if r := t.Register; r != nil {
		st.Register = &sip.Registration{Registrar: r.Registrar, Username: r.Username, Password: r.Password,
			Domain: r.Domain, Expires: r.Expires, Transport: r.Transport}
	}
	return st
}

// configNames is the set of trunk names the configuration file uses.
func configNames(trunks []config.Trunk) map[string]bool {
	m := make(map[string]bool, len(trunks))
	for _, t := range trunks {
		m[t.Name] = true
	}
	return m
}

// trunkReplacer is the SIP server's side of a reload.
type trunkReplacer interface {
	ReplaceTrunks([]sip.Trunk) error
}

// trunkReloader keeps the SIP server's trunks equal to the configured ones
// plus the stored ones: at once after a change through the admin API, and
// within trunkPollInterval after one by the CLI (another process).
type trunkReloader struct {
	store  *dialplan.Store
	sip    trunkReplacer
	config []config.Trunk
	log    *slog.Logger

	mu      sync.Mutex
	applied int64 // TrunksVersion last applied; -1 before the first
	lastErr string
}

func newTrunkReloader(store *dialplan.Store, phones trunkReplacer, cfgTrunks []config.Trunk, log *slog.Logger) *trunkReloader {
	return &trunkReloader{store: store, sip: phones, config: cfgTrunks, log: log, applied: -1}
}

// reload applies the stored trunks if they changed since the last reload
// (force: in any case). It fails only when the database cannot be read. A
// trunk the SIP server leaves out (registrar settings it cannot use) is
// logged once and tried again at the next poll; its state says why. A
// registrar whose name does not resolve is no such case: the SIP server
// keeps that trunk and retries the lookup with the registration back-off.
func (r *trunkReloader) reload(ctx context.Context, force bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, err := r.store.TrunksVersion(ctx)
	if err != nil {
		return err
	}
	if v == r.applied && !force {
		return nil
	}
	stored, err := r.store.Trunks(ctx)
	if err != nil {
		return err
	}
	trunks := sipTrunks(r.config)
	taken := configNames(r.config)
	for _, t := range stored {
		if taken[t.Name] {
			r.log.Warn("stored trunk ignored: the configuration file has a trunk of that name", "trunk", t.Name)
			continue
		}
		trunks = append(trunks, storedSIPTrunk(t))
	}
	if err := r.sip.ReplaceTrunks(trunks); err != nil {
		if err.Error() != r.lastErr {
			r.log.Warn("trunks applied, some left out", "error", err)
		}
		r.lastErr = err.Error()
		return nil
	}
	if r.applied != -1 {
		r.log.Info("trunks reloaded", "count", len(trunks))
	}
	r.applied, r.lastErr = v, ""
	return nil
}

// run polls until ctx ends.
func (r *trunkReloader) run(ctx context.Context) {
	t := time.NewTicker(trunkPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.reload(ctx, false); err != nil && ctx.Err() == nil {
				r.log.Warn("trunk reload", "error", err)
			}
		}
	}
}

// trunkAdmin is the console's and API's view of all trunks, and the
// editor of the stored ones (web.TrunkEditor): a change is stored, then
// applied to the running SIP server before the API answers.
type trunkAdmin struct {
	trunkLister
	store  *dialplan.Store
	reload func(ctx context.Context) error // nil: nothing runs to apply changes to
	tlsOn  bool                            // the SIP TLS listener is configured
}

// Trunks implements web.TrunkLister: configured trunks, then stored ones.
func (a trunkAdmin) Trunks(ctx context.Context) ([]web.TrunkInfo, error) {
	out, err := a.trunkLister.Trunks(ctx)
	if err != nil {
		return nil, err
	}
	states, err := readTrunkStates(a.dataDir)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if a.now != nil {
		now = a.now
	}
	taken := make(map[string]bool, len(out))
	for i, t := range a.trunkLister.trunks {
		taken[t.Name] = true
		out[i].Origin = "config"
		out[i].Username, out[i].MaxCalls, out[i].SRTP = t.Username, t.MaxCalls, trunkSRTP(string(t.SRTP))
		out[i].MaxDuration = int(t.MaxDuration / time.Second)
		out[i].Transport = trunkTransport(false, "", a.tlsOn)
		if r := t.Register; r != nil {
			out[i].RegUser, out[i].RegDomain, out[i].RegTransport = r.Username, r.Domain, string(r.Transport)
			out[i].Transport = trunkTransport(true, string(r.Transport), a.tlsOn)
			out[i].RetryAt = retryAt(states[t.Name], now())
		}
	}
	stored, err := a.store.Trunks(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range stored {
		if taken[t.Name] {
			continue
		}
		ti := web.TrunkInfo{Name: t.Name, Sources: append([]string{}, t.Sources...), Auth: t.Username != "",
			State: "ready", Origin: "stored", Username: t.Username, MaxCalls: t.MaxCalls,
			MaxDuration: int(t.MaxDuration / time.Second), SRTP: trunkSRTP(t.SRTP),
			Transport: trunkTransport(false, "", a.tlsOn)}
		if r := t.Register; r != nil {
			ti.Register, ti.RegUser, ti.RegDomain, ti.RegTransport = r.Registrar, r.Username, r.Domain, r.Transport
			ti.Transport = trunkTransport(true, r.Transport, a.tlsOn)
			st, ok := states[t.Name]
			ti.State, ti.Until, ti.LastError = registrationState(st, ok, now())
			ti.RetryAt = retryAt(st, now())
		}
		out = append(out, ti)
	}
	return out, nil
}

// retryAt is when a failed registration is tried next; zero when it did
// not fail or that time has passed (the server is not running).
func retryAt(st sip.TrunkState, now time.Time) time.Time {
	if st.Registered || st.LastError == "" || !st.Retry.After(now) {
		return time.Time{}
	}
	return st.Retry
}

// refuseConfigName answers ErrExists for a name the configuration uses.
func (a trunkAdmin) refuseConfigName(name string) error {
	if configNames(a.trunkLister.trunks)[name] {
		return fmt.Errorf("trunk %s is defined in the configuration file (read-only): %w", name, dialplan.ErrExists)
	}
	return nil
}

// AddTrunk implements web.TrunkEditor.
func (a trunkAdmin) AddTrunk(ctx context.Context, t dialplan.StoredTrunk) error {
	if err := a.refuseConfigName(t.Name); err != nil {
		return err
	}
	if _, err := a.store.AddTrunk(ctx, t); err != nil {
		return err
	}
	return a.apply(ctx)
}

// UpdateTrunk implements web.TrunkEditor.
func (a trunkAdmin) UpdateTrunk(ctx context.Context, name string, c dialplan.TrunkChange) error {
	if err := a.refuseConfigName(name); err != nil {
		return err
	}
	if _, err := a.store.UpdateTrunk(ctx, name, c); err != nil {
		return err
	}
	return a.apply(ctx)
}

// RemoveTrunk implements web.TrunkEditor.
func (a trunkAdmin) RemoveTrunk(ctx context.Context, name string) error {
	if err := a.refuseConfigName(name); err != nil {
		return err
	}
	if err := a.store.RemoveTrunk(ctx, name); err != nil {
		return err
	}
	return a.apply(ctx)
}

// apply makes the running server use the change.
func (a trunkAdmin) apply(ctx context.Context) error {
	if a.reload == nil {
		return nil
	}
	return a.reload(context.WithoutCancel(ctx))
}
