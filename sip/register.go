package sip

import (
	"context"
	"fmt"
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
	Updated    time.Time `json:"updated"`
}

// registrar is the state of one registration trunk's client.
type registrar struct {
	trunk  Trunk
	host   string
	port   int
	callID string
	cseq   uint32
}

// resolveRegistrar splits and resolves r.Registrar; its IP joins the
// trunk's sources.
func resolveRegistrar(r *Registration) (host string, port int, ip netip.Addr, err error) {
	host, p, err := net.SplitHostPort(r.Registrar)
	if err != nil {
		host, p = r.Registrar, "5060"
		if strings.EqualFold(r.Transport, "tls") {
			host, p = r.Registrar, "5061"
		}
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, netip.Addr{}, fmt.Errorf("sip: registrar %q: bad port", r.Registrar)
	}
	ips, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", host)
	if err != nil || len(ips) == 0 {
		return "", 0, netip.Addr{}, fmt.Errorf("sip: registrar %q: %w", r.Registrar, err)
	}
	return host, port, ips[0].Unmap(), nil
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
			uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err := s.register(uctx, reg, 0)
			cancel()
			s.log.Info("unregistered", "trunk", reg.trunk.Name, "error", err)
			s.setTrunkState(TrunkState{Name: reg.trunk.Name, LastError: "unregistered: server stopped", Updated: time.Now()})
			return
		case <-timer.C:
		}
		granted, err := s.register(ctx, reg, r.Expires)
		now := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			fails++
			s.setTrunkState(TrunkState{Name: reg.trunk.Name, LastError: err.Error(), Updated: now})
			s.log.Warn("registration failed", "trunk", reg.trunk.Name, "error", err, "attempt", fails)
			timer.Reset(registerBackoff(fails))
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
	ip, _ := routeLocalIP(reg.host)
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

// prepareRegistrations resolves the registrars of registration trunks,
// adds each registrar's address to its trunk's sources and fills defaults.
// It works on a copy of the trunk list.
func (s *Server) prepareRegistrations() error {
	trunks := slices.Clone(s.cfg.Trunks)
	for i, t := range trunks {
		if t.Register == nil {
			continue
		}
		r := *t.Register
		if r.Expires <= 0 {
			r.Expires = 5 * time.Minute
		}
		host, port, ip, err := resolveRegistrar(&r)
		if err != nil {
			return err
		}
		t.Register = &r
		t.Sources = append(slices.Clone(t.Sources), netip.PrefixFrom(ip, ip.BitLen()))
		trunks[i] = t
		s.registrars = append(s.registrars, &registrar{trunk: t, host: host, port: port,
			callID: randomHex(16) + "@dialroom"})
	}
	s.cfg.Trunks = trunks
	return nil
}

// startRegistrations starts one goroutine per registration trunk, which
// begins once the UDP listener serves (REGISTER leaves from it); Close
// waits for them (they unregister first).
func (s *Server) startRegistrations(udpReady <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for _, reg := range s.registrars {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			select {
			case <-udpReady:
				s.runRegistration(s.ctx, reg)
			case <-s.ctx.Done():
			}
		}()
	}
}
