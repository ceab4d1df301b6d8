package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// TransportConfig says which shared sockets carry the media of every
// participant and which ICE servers browsers are given. The zero value opens
// nothing: each PeerConnection then uses its own ephemeral UDP port.
type TransportConfig struct {
	// ICEIPs and ICEInterfaces are Config's filters; they also pick the
	// addresses a ":port" UDPListen binds and the peers TURN may relay to.
	ICEIPs        []string
	ICEInterfaces []string
	// PublicIP is Config.PublicIP (1:1 NAT); TURN may relay to it.
	PublicIP string
	// UDPListen makes every participant's ICE share one UDP port: "IP:port"
	// binds one address, ":port" every allowed address; "" = off.
	UDPListen string
	// TCPListen accepts ICE over TCP (RFC 6544 passive candidates) on this
	// "host:port", for networks that block UDP; "" = off.
	TCPListen string
	// TURN configures the TURN server browsers are told about (turn.go).
	TURN TURNConfig
	// BatchIO sends and receives on the shared UDP socket(s) in batches
	// (sendmmsg/recvmmsg, batchconn.go) where the platform has them.
	BatchIO bool
}

// srtpProfiles are the SRTP protection profiles the SFU accepts, the
// cheapest first: as the DTLS server (browsers answer with setup:active)
// it picks the first of these the browser offers. Per 100-byte Opus
// packet, AEAD_AES_128_GCM costs about 190 ns, AEAD_AES_256_GCM 215 ns
// (pion's first choice) and AES128_CM_HMAC_SHA1_80 525 ns
// (BenchmarkSRTPProtect). Chrome offers all three.
var srtpProfiles = []dtls.SRTPProtectionProfile{
	dtls.SRTP_AEAD_AES_128_GCM,
	dtls.SRTP_AEAD_AES_256_GCM,
	dtls.SRTP_AES128_CM_HMAC_SHA1_80,
}

// udpBufferBytes is the kernel buffer asked for on each shared UDP socket:
// one socket carries every participant's media, and a burst of video
// keyframes must not overflow it while the readers are busy. Linux caps
// it at net.core.rmem_max / wmem_max (see docs/deploy.md).
const udpBufferBytes = 4 << 20

// Transport owns the sockets that ICE and TURN share between all
// participants. Build it before the Manager (Config.Transport) and close it
// after the Manager.
type Transport struct {
	log    *slog.Logger
	udpMux ice.UDPMux
	tcpMux ice.TCPMux
	tcpLn  net.Listener
	udp    []net.Addr // where udpMux listens
	batch  *batchNet  // the batched sockets under udpMux; nil with BatchIO off
	turn   *turnServer
	creds  *turnCredentials // nil: no TURN server for browsers

	closeOnce sync.Once
	closeErr  error
}

// NewTransport opens the shared UDP and TCP ICE sockets and the embedded
// TURN server that cfg asks for.
func NewTransport(cfg TransportConfig, log *slog.Logger) (t *Transport, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t = &Transport{log: log}
	defer func() {
		if err != nil {
			_ = t.Close()
			t = nil
		}
	}()
	if cfg.UDPListen != "" {
		if err := t.openUDP(cfg); err != nil {
			return nil, fmt.Errorf("sfu: ice udp %s: %w", cfg.UDPListen, err)
		}
	}
	if cfg.TCPListen != "" {
		ln, err := net.Listen("tcp", cfg.TCPListen)
		if err != nil {
			return nil, fmt.Errorf("sfu: ice tcp: %w", err)
		}
		t.tcpLn = ln
		t.tcpMux = webrtc.NewICETCPMux(pionLogger("ice-tcp"), ln, 16)
	}
	if err := t.openTURN(cfg); err != nil {
		return nil, err
	}
	return t, nil
}

// openUDP binds the one UDP port: a single socket for "IP:port", or one
// socket per allowed address for ":port".
func (t *Transport) openUDP(cfg TransportConfig) error {
	host, portStr, err := net.SplitHostPort(cfg.UDPListen)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return fmt.Errorf("bad port %q", portStr)
	}
	if host != "" {
		addr, err := net.ResolveUDPAddr("udp", cfg.UDPListen)
		if err != nil {
			return err
		}
		conn, err := net.ListenUDP("udp", addr)
		if err != nil {
			return err
		}
		_ = conn.SetReadBuffer(udpBufferBytes)
		_ = conn.SetWriteBuffer(udpBufferBytes)
		var pc net.PacketConn = conn
		if cfg.BatchIO {
			t.batch = &batchNet{}
			pc = t.batch.wrap(conn)
		}
		t.udpMux = webrtc.NewICEUDPMux(pionLogger("ice-udp"), pc)
		t.udp = []net.Addr{conn.LocalAddr()}
		return nil
	}
	if port == 0 {
		return errors.New("\":0\" would give every address another port; name an IP or a port")
	}
	filter, loopback, err := ipFilter(cfg.ICEIPs)
	if err != nil {
		return err
	}
	opts := []ice.UDPMuxFromPortOption{ice.UDPMuxFromPortWithLogger(pionLogger("ice-udp")),
		ice.UDPMuxFromPortWithReadBufferSize(udpBufferBytes), ice.UDPMuxFromPortWithWriteBufferSize(udpBufferBytes)}
	if filter != nil {
		opts = append(opts, ice.UDPMuxFromPortWithIPFilter(filter))
	}
	if loopback {
		opts = append(opts, ice.UDPMuxFromPortWithLoopback())
	}
	if cfg.BatchIO {
		// pion opens one socket per address through its Net: this one
		// wraps each in a batchConn.
		std, err := stdnet.NewNet()
		if err != nil {
			return err
		}
		t.batch = &batchNet{Net: std}
		opts = append(opts, ice.UDPMuxFromPortWithNet(t.batch))
	}
	if len(cfg.ICEInterfaces) > 0 {
		names := slices.Clone(cfg.ICEInterfaces)
		opts = append(opts, ice.UDPMuxFromPortWithInterfaceFilter(func(n string) bool { return slices.Contains(names, n) }))
	}
	mux, err := ice.NewMultiUDPMuxFromPort(port, opts...)
	if err != nil {
		return err
	}
	t.udpMux = mux
	t.udp = mux.GetListenAddresses()
	return nil
}

// ipFilter turns ICEIPs into a filter (nil: every address) and reports
// whether one of them is a loopback address.
func ipFilter(list []string) (func(net.IP) bool, bool, error) {
	if len(list) == 0 {
		return nil, false, nil
	}
	ips := make([]net.IP, 0, len(list))
	loopback := false
	for _, s := range list {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, false, fmt.Errorf("ice ip %q: not an IP address", s)
		}
		loopback = loopback || ip.IsLoopback()
		ips = append(ips, ip)
	}
	return func(ip net.IP) bool { return slices.ContainsFunc(ips, ip.Equal) }, loopback, nil
}

// UDPAddrs returns the addresses of the shared ICE UDP socket(s); none when
// every participant has its own port.
func (t *Transport) UDPAddrs() []net.Addr {
	if t == nil {
		return nil
	}
	return slices.Clone(t.udp)
}

// UDPBatchStats adds up the counters of the batched shared UDP sockets;
// ok is false when batching is off.
func (t *Transport) UDPBatchStats() (st BatchStats, ok bool) {
	if t == nil || t.batch == nil {
		return BatchStats{}, false
	}
	return t.batch.stats(), true
}

// TCPAddr returns the ICE-TCP listener's address, or nil.
func (t *Transport) TCPAddr() net.Addr {
	if t == nil || t.tcpLn == nil {
		return nil
	}
	return t.tcpLn.Addr()
}

// Close closes the shared sockets and the TURN server. Call it after
// Manager.Close. It is idempotent.
func (t *Transport) Close() error {
	if t == nil {
		return nil
	}
	t.closeOnce.Do(func() {
		var errs []error
		if t.udpMux != nil {
			errs = append(errs, t.udpMux.Close())
			if t.batch != nil {
				st := t.batch.stats()
				t.log.Info("ice udp batch io", "sent", st.Sent, "send_calls", st.Batches,
					"dropped", st.Dropped, "errors", st.Errors, "received", st.Received, "read_calls", st.ReadCalls)
			}
		}
		if t.tcpMux != nil {
			errs = append(errs, t.tcpMux.Close()) // closes tcpLn too
		}
		if t.turn != nil {
			errs = append(errs, t.turn.Close())
		}
		t.closeErr = errors.Join(errs...)
	})
	return t.closeErr
}

// apply makes se use the shared sockets. With ICE-TCP on, TCP candidates
// are gathered next to UDP ones.
func (t *Transport) apply(se *webrtc.SettingEngine) {
	if t == nil {
		return
	}
	if t.udpMux != nil {
		se.SetICEUDPMux(t.udpMux)
	}
	if t.tcpMux != nil {
		se.SetICETCPMux(t.tcpMux)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6,
			webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6})
	}
}

// ICEServers returns the ICE servers (with fresh time-limited credentials) a
// browser should use to reach this server's rooms; none when no TURN server
// is configured. It is safe on a nil Manager.
func (m *Manager) ICEServers() []webrtc.ICEServer {
	if m == nil {
		return nil
	}
	return m.transport.ICEServers()
}

// ICEServers returns the TURN servers browsers are given, with credentials
// valid for the configured time; nil when there are none.
func (t *Transport) ICEServers() []webrtc.ICEServer {
	if t == nil || t.creds == nil {
		return nil
	}
	return t.creds.iceServers()
}

// pionLogger returns pion's logger for scope: errors only, on stderr.
func pionLogger(scope string) logging.LeveledLogger {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelError
	return f.NewLogger(scope)
}

// ErrNegotiating is returned by RestartICE while an offer awaits its
// answer; the client asks again a moment later.
var ErrNegotiating = errors.New("sfu: an offer is outstanding")

// RestartICE answers a browser whose network changed (RFC 8445 section 9):
// the next offer carries new ICE credentials and candidates, so the browser
// reconnects without leaving the room. It must come before the server gives
// the connection up as failed (about 25 s after it lost the browser).
func (p *Peer) RestartICE() error {
	p.negMu.Lock()
	switch {
	case p.closed:
		p.negMu.Unlock()
		return ErrClosed
	case p.negotiating:
		p.negMu.Unlock()
		return ErrNegotiating
	}
	p.negotiating = true
	p.negMu.Unlock()
	// This offer is dropped: making it restarts the ICE agent with new
	// credentials, which the offer sendOffer makes next carries.
	if _, err := p.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true}); err != nil {
		p.negMu.Lock()
		p.negotiating = false
		p.negMu.Unlock()
		return fmt.Errorf("sfu: ice restart: %w", err)
	}
	p.log.Info("ice restart")
	p.sendOffer()
	return nil
}
