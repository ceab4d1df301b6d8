package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// listenTLS binds the TCP socket of the SIP-over-TLS listener (RFC 3261
// §26.2) when Config.TLSListen is set. The handshake happens per
// connection in serveTLS, with the certificate Config.GetCertificate
// returns at that moment, so renewed certificates apply to new connections.
func (s *Server) listenTLS() error {
	if s.cfg.TLSListen == "" {
		return nil
	}
	if s.cfg.GetCertificate == nil {
		return errors.New("sip: tls listen address set without a certificate")
	}
	ln, err := net.Listen("tcp", s.cfg.TLSListen)
	if err != nil {
		return fmt.Errorf("sip: listen tls %s: %w", s.cfg.TLSListen, err)
	}
	s.tlsLn = ln
	return nil
}

// checkTLSTrunks refuses registration trunks that want TLS while there is
// no TLS listener: the carrier's INVITEs would have nowhere to go.
func checkTLSTrunks(cfg Config) error {
	for _, t := range cfg.Trunks {
		if t.Register != nil && strings.EqualFold(t.Register.Transport, "tls") && cfg.TLSListen == "" {
			return fmt.Errorf("sip: trunk %s registers over tls but there is no tls listener", t.Name)
		}
	}
	return nil
}

// tlsOptions configures the TLS client side (REGISTER over TLS): the
// registrar's certificate is checked against Config.TLSRoots, or the
// system roots when that is nil.
func (s *Server) tlsOptions() []sipgo.UserAgentOption {
	return []sipgo.UserAgentOption{sipgo.WithUserAgenTLSConfig(&tls.Config{
		MinVersion: tls.VersionTLS12,
		RootCAs:    s.cfg.TLSRoots,
	})}
}

// serveTLS serves the TLS listener until it is closed, behind the same
// source filter and rate limit as TCP (both act before the handshake, so
// a refused source costs no cryptography).
func (s *Server) serveTLS(wg *sync.WaitGroup, errs chan<- error) {
	if s.tlsLn == nil {
		return
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.cfg.GetCertificate}
	ln := handshakeListener{s.limitTCP(filterListener{s.tlsLn, s.trunks}), conf, tlsHandshakeTimeout}
	wg.Add(1)
	go func() { defer wg.Done(); errs <- s.sipSrv.ServeTLS(ln) }()
}

// closeTLS closes the TLS listener, if any.
func (s *Server) closeTLS() error {
	if s.tlsLn == nil {
		return nil
	}
	return s.tlsLn.Close()
}

// TLSAddr is the bound SIP-over-TLS address; nil without a TLS listener.
func (s *Server) TLSAddr() *net.TCPAddr {
	if s.tlsLn == nil {
		return nil
	}
	return s.tlsLn.Addr().(*net.TCPAddr)
}

// overTLS reports whether req arrived on the TLS listener.
func overTLS(req *sip.Request) bool { return strings.EqualFold(req.Transport(), "tls") }

// contactFor is our Contact in the dialog req creates. A call that arrived
// over TLS gets the TLS port, as a sips: URI when the caller's
// Request-URI was one (RFC 3261 §8.1.1.8, §12.1.1), else with
// transport=tls, so that requests towards us stay on TLS.
func (s *Server) contactFor(req *sip.Request, ip netip.Addr) sip.ContactHeader {
	c := s.contact(ip)
	if !overTLS(req) || s.tlsLn == nil {
		return c
	}
	c.Address.Port = s.TLSAddr().Port
	if req.Recipient.Scheme == "sips" {
		c.Address.Scheme = "sips"
		return c
	}
	c.Address.UriParams = sip.NewParams()
	c.Address.UriParams.Add("transport", "tls")
	return c
}

// tlsHandshakeTimeout bounds a TLS handshake: a peer that connects and
// then stays silent (or is slow on purpose) is dropped after it.
const tlsHandshakeTimeout = 10 * time.Second

// handshakeListener is tls.NewListener with a bounded handshake. The
// handshake runs on the connection's first Read, in sipgo's goroutine for
// that connection, so a slow peer never holds up Accept.
type handshakeListener struct {
	net.Listener
	conf    *tls.Config
	timeout time.Duration
}

// Accept returns the next connection, wrapped in TLS.
func (l handshakeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &handshakeConn{Conn: tls.Server(c, l.conf), timeout: l.timeout}, nil
}

// handshakeConn completes the handshake within timeout before the first read.
type handshakeConn struct {
	*tls.Conn
	timeout time.Duration
	once    sync.Once
	err     error
}

func (c *handshakeConn) Read(b []byte) (int, error) {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		defer cancel()
		c.err = c.HandshakeContext(ctx)
	})
	if c.err != nil {
		return 0, c.err
	}
	return c.Conn.Read(b)
}
