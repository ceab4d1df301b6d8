package sip

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"dialroom/dialplan"
	"dialroom/mixer"
)

// Config configures the SIP server. Zero values mean defaults.
type Config struct {
	Listen     string        // UDP and TCP listen address, e.g. ":5060"; port 0 picks one free port for both
	MediaIP    string        // IP announced in SDP c=; empty: the local IP the INVITE arrived on
	RTPPortMin int           // lowest RTP port (even); default 10000
	RTPPortMax int           // highest RTP port; default 20000
	RTPTimeout time.Duration // hang up after this long without RTP; default 30 s

	// TLSListen is the SIP-over-TLS address, e.g. ":5061"; "" means no
	// TLS listener (tls.go). Port 0 picks a free port.
	TLSListen string
	// GetCertificate returns the TLS listener's certificate at each
	// handshake (httpserve.CertFiles reloads renewed files); required
	// with TLSListen.
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// TLSRoots verifies registrars reached over TLS; nil means the system roots.
	TLSRoots *x509.CertPool

	// Trunks may place calls; see Trunk. Requests from other sources are
	// refused with 403 (or dropped, see DropUnknown).
	Trunks []Trunk
	// RefuseLoopback stops treating 127.0.0.0/8 and ::1 as an implicit
	// trunk named "loopback" (trusted by default, so a softphone on the
	// same machine can call without configuration).
	RefuseLoopback bool
	// DropUnknown ignores requests from unknown sources instead of
	// answering 403, so scanners learn nothing. It cannot apply while a
	// trunk without Sources (password only) exists.
	DropUnknown bool
	// Realm is the digest realm of 407 challenges; default "dialroom".
	Realm string
	// MaxCalls limits concurrent calls in total (503 beyond it); 0 means no limit.
	MaxCalls int
	// QuietJoinLeave turns off the tones callers hear when someone joins
	// or leaves their room (tones.go; ConfBridge's quiet=yes).
	QuietJoinLeave bool
	// OnTrunkState, when set, is called with every change of a
	// registration trunk's state (from the registration goroutine).
	OnTrunkState func(TrunkState)
	// RateLimit limits requests per source address (ratelimit.go).
	RateLimit RateLimit
	// PINFailures keeps the PIN failure counts across restarts; nil keeps
	// them in memory only.
	PINFailures *dialplan.Store
	// Resolver looks up registrars' host names (register.go); nil means
	// net.DefaultResolver.
	Resolver Resolver

	minSE int // Min-SE in seconds (RFC 4028); default minSessionExpires, lowered only by tests

	// registerBackoff is the wait after the n-th failed registration in a
	// row; default registerBackoff, shortened only by tests.
	registerBackoff func(n int) time.Duration

	// PIN throttles; default dialplan.CallerPolicy and TrunkPolicy, changed only by tests.
	callerPolicy, trunkPolicy dialplan.ThrottlePolicy
}

// RoomFinder maps a dialled number (the Request-URI user part) to its room
// or, for a shared number, a room's dial-in code to the room. RouteNumber's
// errors wrap dialplan.ErrNotFound when no room has the number (or
// dialplan.ErrInvalid when it is no number); both are answered 404.
// RoomByDialCode's wrap dialplan.ErrNotFound for an unknown code.
// *dialplan.Store implements it.
type RoomFinder interface {
	RouteNumber(ctx context.Context, dialled string) (dialplan.Route, error)
	RoomByDialCode(ctx context.Context, code string) (dialplan.Room, error)
}

// Bridge puts a phone leg into a room's audio mix.
type Bridge interface {
	Join(roomSlug string, info mixer.PhoneInfo, leg mixer.Leg) (Membership, error)
}

// ErrRoomLocked is what a Bridge's Join error wraps when the room is
// locked: the caller hears dialplan.PromptRoomLocked, then BYE.
var ErrRoomLocked = errors.New("room locked")

// firstReporter is optionally implemented by a Membership: FirstInRoom
// reports that the room was empty when the caller joined, who then hears
// dialplan.PromptFirstParticipant.
type firstReporter interface {
	FirstInRoom() bool
}

// Membership is a phone leg's place in a room.
type Membership interface {
	// Push hands over one 20 ms frame of the caller's voice: mixer.NarrowSamples
	// at 8 kHz (G.711) or mixer.FrameSamples at 16 kHz (G.722, Opus). It must
	// not block and must not keep pcm after returning.
	Push(pcm []int16)
	// Leave removes the leg from the room. Called once, when the call ends.
	Leave()
}

// PromptSource supplies recorded announcements.
type PromptSource interface {
	// Prompt returns p in language lang as 8 kHz mono PCM; nil when missing.
	// The caller only reads the slice.
	Prompt(lang string, p dialplan.Prompt) []int16
}

// Server answers SIP calls over UDP and TCP and runs each call.
type Server struct {
	cfg     Config
	rooms   RoomFinder
	bridge  Bridge
	prompts PromptSource
	log     *slog.Logger
	newIVR  func(dialplan.Route, dialplan.CodeLookup) ivr
	mask    func(caller string) string
	trunks  *trunkTable
	nonces  *nonces
	limit   *limiter // per-source rate limit and bans

	client    *sipgo.Client
	regStates trunkStates
	replaceMu sync.Mutex         // one ReplaceTrunks at a time
	regs      map[string]*regRun // registration clients by trunk name; guarded by mu
	serving   bool               // Serve started the registrations; guarded by mu
	regNames  []string           // registration trunks of the current set; guarded by mu
	udpReady  chan struct{}      // closed once the UDP listener serves

	callerThrottle *dialplan.Throttle // failed PINs per caller ID and trunk
	trunkThrottle  *dialplan.Throttle // failed PINs per trunk

	ua      *sipgo.UserAgent
	sipSrv  *sipgo.Server
	dialogs sipgo.DialogUA
	udp     net.PacketConn
	tcp     net.Listener
	tlsLn   net.Listener // nil without TLSListen
	mediaIP netip.Addr

	ctx    context.Context // cancelled by Close: every call hangs up
	cancel context.CancelFunc

	mu     sync.Mutex
	calls  map[string]*activeCall // by dialog ID
	slots  map[string]int         // calls in progress per trunk name; "" is the total
	closed bool
	wg     sync.WaitGroup // one per call goroutine

	closeOnce sync.Once
	closeErr  error

	drain drainer // SIGTERM: see drain.go
}

// activeCall is what in-dialog requests need to find.
type activeCall struct {
	dlg     *sipgo.DialogServerSession
	contact sip.ContactHeader // our Contact in this dialog
	media   *rtpSession
	mediaIP netip.Addr    // announced in our SDP
	sessID  uint64        // o= session id, fixed for the call
	refresh chan struct{} // a re-INVITE or UPDATE refreshed the session (RFC 4028)

	infoDigits chan byte // digits from SIP INFO, read by the call goroutine

	mu       sync.Mutex
	infoSeq  uint32 // CSeq of the last INFO whose digit was taken
	infoSeen bool
	answer   []byte // our current SDP, repeated for refreshes
	sdpVer   uint64 // o= version of answer
	offer    Media  // the offer answer was built for

	lateOffer bool   // the INVITE had no SDP: the ACK carries the answer
	ackBody   []byte // that ACK's SDP
	reoffered uint32 // CSeq of a re-INVITE without SDP we sent our offer to; its ACK answers

	srtpMode SRTPMode // the trunk's, for re-INVITEs, UPDATEs and late-offer answers
}

// New binds the SIP listeners (so Addr works before Serve) and prepares the
// server. Serve starts answering.
func New(cfg Config, rooms RoomFinder, bridge Bridge, prompts PromptSource, log *slog.Logger) (*Server, error) {
	cfg = withDefaults(cfg)
	if cfg.RTPPortMin < 1 || cfg.RTPPortMax > 65535 || cfg.RTPPortMin > cfg.RTPPortMax {
		return nil, fmt.Errorf("sip: rtp port range %d-%d is not valid", cfg.RTPPortMin, cfg.RTPPortMax)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, rooms: rooms, bridge: bridge, prompts: prompts, log: log,
		mask: maskCaller, calls: make(map[string]*activeCall), slots: make(map[string]int),
		nonces:         newNonces(time.Now),
		callerThrottle: dialplan.NewThrottle(cfg.callerPolicy, time.Now),
		trunkThrottle:  dialplan.NewThrottle(cfg.trunkPolicy, time.Now)}
	pinCheck := boundedCheck(make(chan struct{}, max(2, runtime.NumCPU())), dialplan.CheckPIN)
	s.newIVR = func(rt dialplan.Route, lookup dialplan.CodeLookup) ivr { return defaultIVR(rt, lookup, pinCheck) }
	if err := checkTLSTrunks(cfg); err != nil {
		return nil, err
	}
	trunks, regs, err := s.prepareTrunks(cfg.Trunks, nil, true)
	if err != nil {
		return nil, err
	}
	s.cfg.Trunks = trunks
	s.setRegNames(cfg.Trunks)
	s.udpReady = make(chan struct{})
	s.regs = make(map[string]*regRun, len(regs))
	for name, reg := range regs {
		s.regs[name] = &regRun{reg: reg, done: make(chan struct{})}
	}
	s.trunks = newTrunkTable(s.cfg)
	s.limit = s.newServerLimiter()
	if err := s.persistPINThrottles(); err != nil {
		return nil, err
	}
	s.regStates.hook = cfg.OnTrunkState
	if cfg.MediaIP != "" {
		ip, err := netip.ParseAddr(cfg.MediaIP)
		if err != nil || ip.IsUnspecified() {
			return nil, fmt.Errorf("sip: media ip %q: not a usable IP address", cfg.MediaIP)
		}
		s.mediaIP = ip.Unmap()
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	if err := s.initSIP(); err != nil {
		s.udp.Close()
		s.tcp.Close()
		_ = s.closeTLS()
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Listen == "" {
		cfg.Listen = ":5060"
	}
	if cfg.RTPPortMin == 0 {
		cfg.RTPPortMin = 10000
	}
	if cfg.RTPPortMax == 0 {
		cfg.RTPPortMax = 20000
	}
	if cfg.RTPTimeout == 0 {
		cfg.RTPTimeout = 30 * time.Second
	}
	if cfg.minSE == 0 {
		cfg.minSE = minSessionExpires
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.registerBackoff == nil {
		cfg.registerBackoff = registerBackoff
	}
	if cfg.callerPolicy == (dialplan.ThrottlePolicy{}) {
		cfg.callerPolicy = dialplan.CallerPolicy()
	}
	if cfg.trunkPolicy == (dialplan.ThrottlePolicy{}) {
		cfg.trunkPolicy = dialplan.TrunkPolicy()
	}
	return cfg
}

// listen binds UDP first, then TCP on the same port (needed for port 0),
// then the TLS listener if configured.
func (s *Server) listen() error {
	udp, tcp, err := listenUDPTCP(s.cfg.Listen)
	if err != nil {
		return err
	}
	if err := s.listenTLS(); err != nil {
		udp.Close()
		tcp.Close()
		return err
	}
	s.udp, s.tcp = udp, tcp
	return nil
}

// listenUDPTCP binds UDP on addr and TCP on the same port. With port 0 a
// TCP port taken by someone else makes it try another UDP port.
func listenUDPTCP(addr string) (net.PacketConn, net.Listener, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("sip: listen address %s: %w", addr, err)
	}
	for try := 0; ; try++ {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("sip: listen udp %s: %w", addr, err)
		}
		port := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(port)))
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		if p != "0" || try == 10 {
			return nil, nil, fmt.Errorf("sip: listen tcp %s: %w", addr, err)
		}
	}
}

func (s *Server) initSIP() error {
	sipLog := slog.New(redactHandler{s.log.Handler()}).With("component", "sipgo")
	ua, err := sipgo.NewUA(append(s.tlsOptions(),
		sipgo.WithUserAgent("dialroom"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sipLog)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(sipLog),
			sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) {
				// Stray responses (retransmissions, or responses sent to us) need nothing.
			})))...,
	)
	if err != nil {
		return fmt.Errorf("sip: user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(sipLog))
	if err != nil {
		ua.Close()
		return fmt.Errorf("sip: server: %w", err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(sipLog))
	if err != nil {
		ua.Close()
		return fmt.Errorf("sip: client: %w", err)
	}
	s.ua, s.sipSrv, s.client = ua, srv, client
	s.dialogs = sipgo.DialogUA{Client: client, ContactHDR: s.contact(s.listenIP()), RewriteContact: true}
	srv.OnInvite(s.checked(s.handleInvite))
	srv.OnAck(s.checked(s.handleAck))
	srv.OnBye(s.checked(s.handleBye))
	srv.OnCancel(s.checked(s.handleCancel))
	srv.OnOptions(s.checked(s.handleOptions))
	srv.OnInfo(s.checked(s.handleInfo))
	srv.OnUpdate(s.checked(s.handleUpdate))
	srv.OnNoRoute(s.checked(s.handleOther))
	return nil
}

// UDPAddr is the bound SIP UDP address.
func (s *Server) UDPAddr() *net.UDPAddr { return s.udp.LocalAddr().(*net.UDPAddr) }

// TCPAddr is the bound SIP TCP address (same port as UDP).
func (s *Server) TCPAddr() *net.TCPAddr { return s.tcp.Addr().(*net.TCPAddr) }

// Serve answers requests until ctx is done or Close is called, then closes
// the server (hanging up every call) and returns.
func (s *Server) Serve(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	wg.Add(2)
	var once sync.Once
	ready := func() { once.Do(func() { close(s.udpReady) }) }
	go func() { defer wg.Done(); errs <- s.sipSrv.ServeUDP(s.limitUDP(filterConn{s.udp, s.trunks, ready})) }()
	go func() { defer wg.Done(); errs <- s.sipSrv.ServeTCP(s.limitTCP(filterListener{s.tcp, s.trunks})) }()
	s.serveTLS(&wg, errs)
	s.startRegistrations()
	var err error
	select {
	case <-ctx.Done():
	case <-s.ctx.Done():
	case err = <-errs:
	}
	closeErr := s.Close()
	wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("sip: serve: %w", err)
	}
	return closeErr
}

// Close hangs up every active call (BYE), waits for the call goroutines,
// then closes the listeners. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cancel()
		s.wg.Wait()
		s.closeErr = errors.Join(s.udp.Close(), s.tcp.Close(), s.closeTLS())
		_ = s.sipSrv.Close()
		_ = s.ua.Close()
	})
	return s.closeErr
}

// addCall registers a call for in-dialog requests and Close; false when closing.
func (s *Server) addCall(id string, ac *activeCall) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.calls[id] = ac
	s.wg.Add(1)
	return true
}

func (s *Server) removeCall(id string) {
	s.mu.Lock()
	delete(s.calls, id)
	s.mu.Unlock()
	s.wg.Done()
}

// findCall returns the active call an in-dialog request belongs to.
func (s *Server) findCall(req *sip.Request) *activeCall {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[id]
}

func (s *Server) listenIP() netip.Addr {
	ap, err := netip.ParseAddrPort(s.udp.LocalAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// contact is our Contact header for responses that create a dialog.
func (s *Server) contact(ip netip.Addr) sip.ContactHeader {
	host := "127.0.0.1"
	if ip.IsValid() && !ip.IsUnspecified() {
		host = ip.String()
	}
	return sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "dialroom", Host: host, Port: s.UDPAddr().Port}}
}
