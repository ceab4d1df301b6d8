package sip

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"dialroom/internal/testcert"
)

// tlsServer starts a server with a TLS listener on loopback and returns a
// pool that trusts its self-signed certificate.
func tlsServer(t *testing.T, cfg Config) (*testEnv, *x509.CertPool) {
	t.Helper()
	certFile, keyFile := testcert.Write(t, t.TempDir(), "dialroom-sip-test")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("test certificate did not parse")
	}
	cfg.TLSListen = "127.0.0.1:0"
	cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }
	return startServer(t, cfg), roots
}

// newTLSPhone is a test phone that calls the server over TLS, checking
// the server's certificate against roots.
func newTLSPhone(t *testing.T, env *testEnv, roots *x509.CertPool) *phone {
	t.Helper()
	p := newPhoneUA(t, env.srv.UDPAddr(), nil, sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
	p.tlsAddr = env.srv.TLSAddr()
	return p
}

// A call over TLS (sipgo's own TLS client is the peer): the 200's Contact
// names the TLS port with transport=tls (or is a sips: URI when the
// caller used one), audio flows, and the server's BYE comes back over the
// TLS connection.
func TestCallOverTLS(t *testing.T) {
	for _, sips := range []bool{false, true} {
		name := "transport=tls"
		if sips {
			name = "sips"
		}
		t.Run(name, func(t *testing.T) {
			env, roots := tlsServer(t, Config{})
			p := newTLSPhone(t, env, roots)
			p.sips = sips
			p.call(openNumber)
			if got := p.dlg.InviteRequest.Transport(); !strings.EqualFold(got, "tls") {
				t.Fatalf("INVITE went over %s, want TLS", got)
			}
			c := p.dlg.InviteResponse.Contact()
			if c == nil {
				t.Fatal("200 OK without Contact")
			}
			if c.Address.Port != env.srv.TLSAddr().Port {
				t.Errorf("Contact port %d, want the TLS port %d", c.Address.Port, env.srv.TLSAddr().Port)
			}
			tp, _ := c.Address.UriParams.Get("transport")
			switch {
			case sips && c.Address.Scheme != "sips":
				t.Errorf("Contact %s, want a sips: URI", c.Address.String())
			case !sips && !strings.EqualFold(tp, "tls"):
				t.Errorf("Contact %s, want transport=tls", c.Address.String())
			}
			j := env.waitJoin(t)
			p.sendToneUntil(j.member.heard, testWaitLong)
			for range 3 {
				j.leg.WriteAudio(tone(600, 160))
			}
			p.waitLoudAudio(testWaitLong)
			// A re-INVITE in the dialog stays on TLS and gets the same Contact.
			res := p.inDialog(sip.INVITE, p.offer())
			if res.StatusCode != 200 || !strings.EqualFold(res.Transport(), "tls") {
				t.Fatalf("re-INVITE: %d over %s, want 200 over TLS", res.StatusCode, res.Transport())
			}
			if rc := res.Contact(); rc == nil || rc.Address.String() != c.Address.String() {
				t.Errorf("re-INVITE's Contact %v, want %s", rc, c.Address.String())
			}
			if err := env.srv.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			p.waitBye(testWaitLong)
		})
	}
}

// A plain TCP client that does not speak TLS gets nowhere, and the
// listener keeps serving.
func TestTLSListenerRejectsPlainSIP(t *testing.T) {
	env, roots := tlsServer(t, Config{})
	raw := rawTCPExchange(t, env.srv.TLSAddr().String(), strings.ReplaceAll(rawRequest("OPTIONS", "plain1"), "SIP/2.0/UDP", "SIP/2.0/TCP"))
	if strings.HasPrefix(raw, "SIP/2.0") {
		t.Fatalf("plain SIP on the TLS port got %q, want no SIP answer", raw)
	}
	p := newTLSPhone(t, env, roots)
	p.call(openNumber)
	env.waitJoin(t)
	p.hangup()
}

func TestNewRejectsTLSWithoutCertificate(t *testing.T) {
	_, err := New(Config{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0"}, &fakeRooms{}, &fakeBridge{}, tonePrompts{}, testLogger())
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("New with TLS and no certificate: err %v, want one about the certificate", err)
	}
	_, err = New(Config{Listen: "127.0.0.1:0", Trunks: []Trunk{{Name: "carrier",
		Register: &Registration{Registrar: "127.0.0.1:5061", Username: "u", Password: "p", Transport: "tls"}}}},
		&fakeRooms{}, &fakeBridge{}, tonePrompts{}, testLogger())
	if err == nil || !strings.Contains(err.Error(), "no tls listener") {
		t.Fatalf("New with a TLS registration and no TLS listener: err %v, want one about the listener", err)
	}
}

// rawTCPExchange writes msg on a new TCP connection to addr and returns
// whatever arrives before the server closes it or 2 s pass.
func rawTCPExchange(t *testing.T, addr, msg string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(msg)); err != nil {
		return ""
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	b, _ := io.ReadAll(conn)
	return string(b)
}

// A registration trunk with transport tls registers over TLS (the
// registrar's certificate checked against TLSRoots), answers the 401
// challenge, and names our TLS listener with transport=tls in its Contact.
func TestRegistrationOverTLS(t *testing.T) {
	certFile, keyFile := testcert.Write(t, t.TempDir(), "registrar")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)

	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	reg, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		transport, contact string
		authorized         bool
	}
	registers := make(chan seen, 16)
	reg.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		s := seen{transport: req.Transport(), authorized: req.GetHeader("Authorization") != nil}
		if c := req.Contact(); c != nil {
			s.contact = c.Address.String()
		}
		registers <- s
		if !s.authorized {
			res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(sip.NewHeader("WWW-Authenticate", `Digest realm="carrier.test", nonce="n0nce", algorithm=MD5`))
			_ = tx.Respond(res)
			return
		}
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		res.AppendHeader(sip.NewHeader("Expires", "60"))
		_ = tx.Respond(res)
	})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { _ = reg.ServeTLS(ln) }()

	states := make(chan TrunkState, 16)
	trunk := Trunk{Name: "carrier", Register: &Registration{Registrar: ln.Addr().String(), Transport: "tls",
		Username: "dialroom", Password: "s3cret", Domain: "carrier.test", Expires: time.Minute}}
	env, _ := tlsServer(t, Config{RefuseLoopback: true, Trunks: []Trunk{trunk}, TLSRoots: roots,
		OnTrunkState: func(st TrunkState) { states <- st }})
	select {
	case st := <-states:
		if !st.Registered {
			t.Fatalf("state %+v, want registered", st)
		}
	case <-time.After(testWaitLong):
		t.Fatal("no registration state within the wait")
	}
	var got []seen
	for len(got) < 2 {
		select {
		case s := <-registers:
			got = append(got, s)
		case <-time.After(testWaitLong):
			t.Fatalf("registrar saw %+v, want two REGISTERs", got)
		}
	}
	if got[0].authorized || !got[1].authorized {
		t.Errorf("authorization %v then %v, want the challenge answered", got[0].authorized, got[1].authorized)
	}
	wantPort := fmt.Sprintf(":%d;", env.srv.TLSAddr().Port)
	for i, s := range got {
		if !strings.EqualFold(s.transport, "tls") {
			t.Errorf("REGISTER %d over %s, want TLS", i, s.transport)
		}
		if !strings.Contains(s.contact, wantPort) || !strings.Contains(s.contact, "transport=tls") {
			t.Errorf("REGISTER %d Contact %s, want our TLS port (%s) with transport=tls", i, s.contact, wantPort)
		}
	}
}

// A peer that opens a connection to the TLS port and sends nothing is
// dropped once the handshake time runs out.
func TestTLSHandshakeTimeout(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := handshakeListener{raw, &tls.Config{MinVersion: tls.VersionTLS12}, 200 * time.Millisecond}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Read(make([]byte, 1)) // fails when the handshake times out
	}()
	conn, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(testWaitLong))
	if _, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("silent peer: read %v, want the server to close the connection", err)
	}
}
