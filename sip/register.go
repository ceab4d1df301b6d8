package sip

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Registration makes dialroom register with a carrier's registrar (RFC 3261
// §10), as carriers that serve dynamic addresses require; the carrier then
// sends its calls to the registered Contact. The registrar's address counts
// as a source of the trunk, so those INVITEs are accepted.
type Registration struct {
	Registrar string        // host:port of the registrar; port 5060 (5061 over TLS) when omitted
	Transport string        // "udp" (default), "tcp" or "tls"; over TLS the Contact names our TLS listener
	Username  string        // user part of the address of record and digest user
	Password  string        // digest password (401/407 challenges)
	Domain    string        // domain of the address of record; default the registrar's host
	Expires   time.Duration // registration lifetime asked for; default 5 min
}

// TrunkState is the live state of a registration trunk, for `dialroom
// trunk list` and logs.
type TrunkState struct {
	Name       string    `json:"name"`
	Registered bool      `json:"registered"`
	Until      time.Time `json:"until,omitzero"`      // registration expires then
	LastError  string    `json:"last_error,omitzero"` // why the last attempt failed
	Retry      time.Time `json:"retry,omitzero"`      // after a failure: the next attempt then
	// Removed is set (for Config.OnTrunkState only) when the trunk no
	// longer registers: it was removed or is no registration trunk any more.
	Removed bool      `json:"-"`
	Updated time.Time `json:"updated"`
}

// Resolver looks up the addresses of a registrar's host name;
// *net.Resolver implements it. Tests pass one that never touches DNS.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// resolveTimeout bounds one lookup of a registrar's name.
const resolveTimeout = 10 * time.Second

// registrar is the state of one registration trunk's client.
type registrar struct {
	trunk Trunk
	host  string
	port  int
	// ip is the registrar's address, a source of the trunk; invalid until
	// the name resolved. The registration goroutine sets it under
	// Server.replaceMu; others read it under that lock.
	ip     netip.Addr
	callID string
	cseq   uint32
}

// splitRegistrar splits r.Registrar into host and port (5060, or 5061
// over TLS, when it names none).
func splitRegistrar(r *Registration) (host string, port int, err error) {
	host, p, err := net.SplitHostPort(r.Registrar)
	if err != nil {
		host, p = r.Registrar, "5060"
		if strings.EqualFold(r.Transport, "tls") {
			host, p = r.Registrar, "5061"
		}
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("sip: registrar %q: bad port", r.Registrar)
	}
	if host == "" {
		return "", 0, fmt.Errorf("sip: registrar %q: no host", r.Registrar)
	}
	return host, port, nil
}

// resolveHost returns the first address of host (an IP literal needs no
// lookup).
func (s *Server) resolveHost(ctx context.Context, host string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap(), nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	ips, err := s.cfg.Resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("sip: registrar %s does not resolve: %w", host, err)
	}
	if len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("sip: registrar %s does not resolve: no address", host)
	}
	return ips[0].Unmap(), nil
}

// resolveRegistrar looks up reg's host before each REGISTER, so that a
// carrier moving its registrar is followed, and keeps the trunk's sources
// in the current trunk set in step (the registrar's address is a source).
// Resolution is part of registering: while the name never resolved, a
// failure fails the attempt, retried with the same back-off; once it did,
// a failed lookup keeps the last address (a DNS outage does not break a
// working registration).
func (s *Server) resolveRegistrar(ctx context.Context, reg *registrar) error {
	if _, err := netip.ParseAddr(reg.host); err == nil {
		return nil // an IP literal: set when the registrar was made
	}
	ip, err := s.resolveHost(ctx, reg.host)
	if err != nil {
		if reg.ip.IsValid() {
			s.log.Warn("registrar lookup failed; keeping its last address", "trunk", reg.trunk.Name, "error", err)
			return nil
		}
		return err
	}
	if ip == reg.ip {
		return nil
	}
	s.replaceMu.Lock()
	defer s.replaceMu.Unlock()
	old := reg.ip
	reg.ip = ip
	set := s.trunks.set.Load()
	for i, t := range set.trunks {
		if t.Name != reg.trunk.Name || t.Register == nil || *t.Register != *reg.trunk.Register {
			continue
		}
		// prepareTrunks appends the registrar's address last.
		srcs := t.Sources
		if n := len(srcs); old.IsValid() && n > 0 && srcs[n-1] == netip.PrefixFrom(old, old.BitLen()) {
			srcs = srcs[:n-1]
		}
		trunks := slices.Clone(set.trunks)
		trunks[i].Sources = append(slices.Clone(srcs), netip.PrefixFrom(ip, ip.BitLen()))
		s.trunks.replace(trunks)
		break
	}
	return nil
}

// registerBackoff is the wait after the n-th failure in a row: 5 s
// doubling to 5 min, with up to 10 % jitter so that many servers behind one
// carrier do not retry in step.
func registerBackoff(n int) time.Duration {
	d := min(5*time.Second<<min(n-1, 10), 5*time.Minute)
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

// refreshIn is when to renew a registration granted for d: at half its
// life, but no earlier than a minute before it ends.
func refreshIn(d time.Duration) time.Duration { return max(d/2, d-time.Minute) }

// runRegistration keeps one trunk registered until ctx ends, then
// unregisters (Expires: 0).
func (s *Server) runRegistration(ctx context.Context, reg *registrar) {
	r := reg.trunk.Register
	fails := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			if reg.ip.IsValid() {
				uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_, err := s.register(uctx, reg, 0)
				cancel()
				s.log.Info("unregistered", "trunk", reg.trunk.Name, "error", err)
			}
			if s.ctx.Err() == nil {
				// The trunk was removed or changed, not the server stopped:
				// a successor (if any) reports its own state.
				s.forgetTrunkState(reg.trunk.Name)
				return
			}
			s.setTrunkState(TrunkState{Name: reg.trunk.Name, LastError: "unregistered: server stopped", Updated: time.Now()})
			return
		case <-timer.C:
		}
		err := s.resolveRegistrar(ctx, reg)
		var granted time.Duration
		if err == nil {
			granted, err = s.register(ctx, reg, r.Expires)
		}
		now := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			fails++
			wait := s.cfg.registerBackoff(fails)
			s.setTrunkState(TrunkState{Name: reg.trunk.Name, LastError: err.Error(), Retry: now.Add(wait), Updated: now})
			s.log.Warn("registration failed", "trunk", reg.trunk.Name, "error", err, "attempt", fails, "retry_in", wait.Round(time.Second))
			timer.Reset(wait)
			continue
		}
		fails = 0
		s.setTrunkState(TrunkState{Name: reg.trunk.Name, Registered: true, Until: now.Add(granted), Updated: now})
		s.log.Info("registered", "trunk", reg.trunk.Name, "expires", granted)
		timer.Reset(refreshIn(granted))
	}
}

// register sends one REGISTER (answering a digest challenge) and returns
// the lifetime the registrar granted.
func (s *Server) register(ctx context.Context, reg *registrar, expires time.Duration) (time.Duration, error) {
	r := reg.trunk.Register
	domain := r.Domain
	if domain == "" {
		domain = reg.host
	}
	aor := sip.Uri{Scheme: "sip", User: r.Username, Host: domain}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: reg.host, Port: reg.port})
	transport := strings.ToUpper(r.Transport)
	if transport == "" {
		transport = "UDP"
	}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	cid := sip.CallIDHeader(reg.callID)
	req.AppendHeader(&cid)
	reg.cseq++
	req.AppendHeader(&sip.CSeqHeader{SeqNo: reg.cseq, MethodName: sip.REGISTER})
	contact := s.contact(s.registerIP(reg))
	contact.Address.User = r.Username
	if transport != "UDP" {
		// The carrier's INVITEs come to our listener of that transport.
		contact.Address.UriParams = sip.NewParams()
		contact.Address.UriParams.Add("transport", strings.ToLower(transport))
		req.Recipient.UriParams = sip.NewParams()
		req.Recipient.UriParams.Add("transport", strings.ToLower(transport))
		if transport == "TLS" {
			contact.Address.Port = s.TLSAddr().Port
		}
	}
	req.AppendHeader(&contact)
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	req.SetTransport(transport)
	if transport != "TLS" {
		// Send to the address we resolved (and accept INVITEs from), not
		// to a fresh lookup of the name. Over TLS the name stays: the
		// registrar's certificate is checked against it.
		req.SetDestination(netip.AddrPortFrom(reg.ip, uint16(reg.port)).String())
	}
	if transport == "UDP" {
		req.Laddr = sip.Addr{IP: s.UDPAddr().IP, Port: s.UDPAddr().Port}
	}
	res, err := s.client.Do(ctx, req)
	if err == nil && (res.StatusCode == 401 || res.StatusCode == 407) {
		res, err = s.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: r.Username, Password: r.Password})
		reg.cseq = req.CSeq().SeqNo
	}
	if err != nil {
		return 0, fmt.Errorf("register: %w", err)
	}
	if res.StatusCode != 200 {
		return 0, fmt.Errorf("register: registrar answered %d %s", res.StatusCode, res.Reason)
	}
	return grantedExpiry(res, contact.Address, expires), nil
}

// registerIP is the address we put in our Contact for reg.
func (s *Server) registerIP(reg *registrar) netip.Addr {
	if ip := s.listenIP(); ip.IsValid() && !ip.IsUnspecified() {
		return ip
	}
	ip, _ := routeLocalIP(reg.ip.String())
	return ip
}

// grantedExpiry reads the lifetime from our Contact's expires parameter in
// the 200, else its Expires header, else what we asked for (RFC 3261 §10.2.4).
func grantedExpiry(res *sip.Response, ours sip.Uri, asked time.Duration) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok || c.Address.Host != ours.Host || c.Address.Port != ours.Port {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}

// trunkStates holds the registration states; the hook sees every change.
type trunkStates struct {
	mu     sync.Mutex
	states map[string]TrunkState
	hook   func(TrunkState)
}

func (s *Server) setTrunkState(st TrunkState) {
	s.regStates.mu.Lock()
	if s.regStates.states == nil {
		s.regStates.states = make(map[string]TrunkState)
	}
	s.regStates.states[st.Name] = st
	hook := s.regStates.hook
	s.regStates.mu.Unlock()
	if hook != nil {
		hook(st)
	}
}

// forgetTrunkState drops the state of a trunk that no longer registers
// and tells the hook.
func (s *Server) forgetTrunkState(name string) {
	s.regStates.mu.Lock()
	_, had := s.regStates.states[name]
	delete(s.regStates.states, name)
	hook := s.regStates.hook
	s.regStates.mu.Unlock()
	if had && hook != nil {
		hook(TrunkState{Name: name, Removed: true, Updated: time.Now()})
	}
}

// TrunkStates returns the state of every registration trunk, by name.
func (s *Server) TrunkStates() []TrunkState {
	s.regStates.mu.Lock()
	defer s.regStates.mu.Unlock()
	out := make([]TrunkState, 0, len(s.regStates.states))
	for _, st := range s.regStates.states {
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b TrunkState) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// regRun is one registration trunk's client goroutine.
type regRun struct {
	reg    *registrar
	cancel context.CancelFunc // nil until started
	done   chan struct{}      // closed when the goroutine returned, or at stop if it never started
}

// prepareTrunks fills registration defaults, resolves the registrars (a
// running registration whose settings did not change is kept, with its
// address) and adds each registrar's address to its trunk's sources. It
// works on copies. With strict, a registrar that cannot be used is an
// error; otherwise that trunk is left out, its state records why, and the
// error is returned along with the other trunks.
func (s *Server) prepareTrunks(in []Trunk, running map[string]*regRun, strict bool) ([]Trunk, map[string]*registrar, error) {
	out := make([]Trunk, 0, len(in))
	regs := make(map[string]*registrar)
	var errs []error
	for _, t := range in {
		if t.Register == nil {
			out = append(out, t)
			continue
		}
		r := *t.Register
		if r.Expires <= 0 {
			r.Expires = 5 * time.Minute
		}
		t.Register = &r
		reg, err := s.registrarFor(t, running, strict)
		if err != nil {
			if strict {
				return nil, nil, err
			}
			errs = append(errs, fmt.Errorf("trunk %s: %w", t.Name, err))
			s.setTrunkState(TrunkState{Name: t.Name, LastError: err.Error(), Updated: time.Now()})
			continue
		}
		if reg.ip.IsValid() {
			t.Sources = append(slices.Clone(t.Sources), netip.PrefixFrom(reg.ip, reg.ip.BitLen()))
		}
		out = append(out, t)
		regs[t.Name] = reg
	}
	return out, regs, errors.Join(errs...)
}

// registrarFor returns the running registrar of t when its registration
// settings are unchanged, else a new one. With strict (the configuration
// file at start) the registrar's name is resolved now and a failure is
// an error; otherwise the registration goroutine resolves it, retrying
// with back-off, so that a name that does not resolve yet costs one
// lookup per back-off step, not one per trunk reload.
func (s *Server) registrarFor(t Trunk, running map[string]*regRun, strict bool) (*registrar, error) {
	if run, ok := running[t.Name]; ok && *run.reg.trunk.Register == *t.Register {
		return run.reg, nil
	}
	if strings.EqualFold(t.Register.Transport, "tls") && s.cfg.TLSListen == "" {
		return nil, fmt.Errorf("sip: trunk %s registers over tls but there is no tls listener", t.Name)
	}
	host, port, err := splitRegistrar(t.Register)
	if err != nil {
		return nil, err
	}
	reg := &registrar{trunk: t, host: host, port: port, callID: randomHex(16) + "@dialroom"}
	if ip, err := netip.ParseAddr(host); err == nil {
		reg.ip = ip.Unmap()
	} else if strict {
		if reg.ip, err = s.resolveHost(context.Background(), host); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// ReplaceTrunks makes trunks the server's trunk set at once: new INVITEs
// are matched against it, while calls in progress go on with the trunk
// they were accepted from. Registration trunks that were removed or whose
// registration changed unregister; new ones start registering (once Serve
// runs). A trunk whose registrar cannot be used is left out and named in
// the returned error; the other trunks apply all the same.
func (s *Server) ReplaceTrunks(trunks []Trunk) error {
	s.replaceMu.Lock()
	defer s.replaceMu.Unlock()
	s.mu.Lock()
	running := maps.Clone(s.regs)
	s.mu.Unlock()
	prepared, regs, err := s.prepareTrunks(trunks, running, false)
	s.trunks.replace(prepared)
	s.swapRegistrations(regs)
	s.setRegNames(trunks)
	s.forgetStatesExcept(trunks)
	return err
}

// setRegNames records which of trunks register, for RegistrationTrunks.
func (s *Server) setRegNames(trunks []Trunk) {
	var names []string
	for _, t := range trunks {
		if t.Register != nil {
			names = append(names, t.Name)
		}
	}
	slices.Sort(names)
	s.mu.Lock()
	s.regNames = names
	s.mu.Unlock()
}

// RegistrationTrunks names the registration trunks of the current trunk
// set (from the configuration and the database), sorted, including those
// left out because their registrar settings are unusable: each should be
// registered for the server to be ready (/readyz).
func (s *Server) RegistrationTrunks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.regNames)
}

// forgetStatesExcept drops the states of trunks that are no registration
// trunks of trunks any more (a registration that failed to start leaves
// one behind; a stopped client drops its own when it has unregistered).
func (s *Server) forgetStatesExcept(trunks []Trunk) {
	keep := make(map[string]bool)
	for _, t := range trunks {
		if t.Register != nil {
			keep[t.Name] = true
		}
	}
	s.mu.Lock()
	for name := range s.regs {
		keep[name] = true
	}
	s.mu.Unlock()
	s.regStates.mu.Lock()
	var gone []string
	for name := range s.regStates.states {
		if !keep[name] {
			gone = append(gone, name)
		}
	}
	s.regStates.mu.Unlock()
	for _, name := range gone {
		s.forgetTrunkState(name)
	}
}

// swapRegistrations stops the registration clients that regs does not
// keep and starts the new ones; a replacement starts after its
// predecessor has unregistered.
func (s *Server) swapRegistrations(regs map[string]*registrar) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stopped := make(map[string]chan struct{})
	for name, run := range s.regs {
		if regs[name] == run.reg {
			continue
		}
		if run.cancel == nil {
			close(run.done)
		} else {
			run.cancel()
		}
		stopped[name] = run.done
		delete(s.regs, name)
	}
	for name, reg := range regs {
		if _, ok := s.regs[name]; ok {
			continue
		}
		run := &regRun{reg: reg, done: make(chan struct{})}
		s.regs[name] = run
		if s.serving && !s.closed {
			s.startRun(run, stopped[name])
		}
	}
}

// startRegistrations starts the registration clients once Serve runs
// (REGISTER leaves from the UDP listener); Close waits for them (they
// unregister first).
func (s *Server) startRegistrations() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.serving {
		return
	}
	s.serving = true
	for _, run := range s.regs {
		if run.cancel == nil {
			s.startRun(run, nil)
		}
	}
}

// startRun starts run's goroutine, which waits for after (the client it
// replaces, nil for none) and for the UDP listener. s.mu is held.
func (s *Server) startRun(run *regRun, after <-chan struct{}) {
	ctx, cancel := context.WithCancel(s.ctx)
	run.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(run.done)
		defer cancel()
		if after != nil {
			select {
			case <-after:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-s.udpReady:
			s.runRegistration(ctx, run.reg)
		case <-ctx.Done():
		}
	}()
}
