package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"dialroom/auth"
	"dialroom/config"
	"dialroom/dialplan"
	"dialroom/httpserve"
	"dialroom/mixer"
	"dialroom/prompts"
	"dialroom/sfu"
	"dialroom/sip"
	"dialroom/web"
)

// shutdownGrace bounds how long open HTTP requests may take after SIGTERM.
const shutdownGrace = 5 * time.Second

// cmdServe runs the server with cfg until SIGINT or SIGTERM, then hangs up every
// call with BYE, closes the rooms and returns.
func cmdServe(cfg config.Config, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := newLogger(cfg.Log, stderr)

	store, err := dialplan.Open(cfg.DataDir)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := errors.Join(cfg.Privacy.Validate(), cfg.SIP.RateLimit.Validate()); err != nil {
		return err
	}
	defer startRetention(store, cfg.Privacy.Retention(), log.With("pkg", "retention"))()
	pin, err := seedDemo(ctx, cfg, store)
	if err != nil {
		return err
	}
	set, err := prompts.LoadWithOverrides(cfg.SIP.PromptsDir)
	if err != nil {
		return err
	}
	transport, err := openTransport(cfg, log.With("pkg", "sfu"))
	if err != nil {
		return err
	}
	defer transport.Close() // after rooms.Close: deferred calls run last first
	if a := iceAddrs(transport); len(a) > 0 {
		log.Info("ice sockets shared by all participants", "addrs", a)
	}
	rooms, err := sfu.NewManager(sfu.Config{
		ICEIPs:        cfg.WebRTC.ICEIPs,
		ICEInterfaces: cfg.WebRTC.ICEInterfaces,
		PublicIP:      cfg.WebRTC.PublicIP,
		UDPPortMin:    uint16(cfg.WebRTC.UDPPortMin),
		UDPPortMax:    uint16(cfg.WebRTC.UDPPortMax),
		Transport:     transport,
		OnModeration:  moderationAudit(store, log.With("pkg", "audit")),
		AudioLastN:    cfg.WebRTC.LastN(),
	}, log.With("pkg", "sfu"))
	if err != nil {
		return err
	}
	defer rooms.Close()
	mix := mixer.NewWith(sfuAdapter{rooms}, mixer.Config{Talkers: cfg.Mixer.Talkers, AudioLevelID: sfu.AudioLevelID}, log.With("pkg", "mixer"))
	defer mix.Close()
	sipCerts, err := sipTLS(cfg.SIP.TLS, log.With("pkg", "sip"))
	if err != nil {
		return err
	}
	phones, err := sip.New(sip.Config{
		Listen:         cfg.SIP.Listen,
		TLSListen:      cfg.SIP.TLS.Listen,
		GetCertificate: sipCerts.getCertificate,
		TLSRoots:       sipCerts.roots,
		MediaIP:        cfg.SIP.MediaIP,
		RTPPortMin:     cfg.SIP.RTPPortMin,
		RTPPortMax:     cfg.SIP.RTPPortMax,
		RTPTimeout:     cfg.SIP.RTPTimeout,
		Trunks:         sipTrunks(cfg.SIP.Trunks),
		RefuseLoopback: !cfg.SIP.LoopbackTrusted(),
		DropUnknown:    cfg.SIP.DropUnknown,
		Realm:          cfg.SIP.Realm,
		MaxCalls:       cfg.SIP.MaxCalls,
		QuietJoinLeave: cfg.SIP.QuietJoinLeave,
		OnTrunkState:   newTrunkStateWriter(cfg.DataDir, log).update,
		RateLimit:      sipRateLimit(cfg.SIP.RateLimit),
		PINFailures:    store,
	}, store, bridgeAdapter{m: mix, rooms: rooms}, set, log.With("pkg", "sip"))
	if err != nil {
		return err
	}
	defer phones.Close()
	// Stored trunks (CLI, admin API) join the configured ones now, and
	// whenever they change (trunkstore.go).
	trunks := newTrunkReloader(store, phones, cfg.SIP.Trunks, log.With("pkg", "trunks"))
	if err := trunks.reload(ctx, true); err != nil {
		return err
	}
	go trunks.run(ctx)

	wcfg, err := webConfig(cfg.DataDir, store)
	if err != nil {
		return err
	}
	wcfg.Trunks = trunkAdmin{trunkLister: trunkLister{dataDir: cfg.DataDir, trunks: cfg.SIP.Trunks}, store: store,
		reload: func(ctx context.Context) error { return trunks.reload(ctx, false) }, tlsOn: cfg.SIP.TLS.On()}
	wcfg.ShowNumbersToModerators = cfg.Privacy.ShowNumbersToModerators
	wcfg.Privacy = web.PrivacyPage{File: cfg.Privacy.PageFile, RetentionDays: int(cfg.Privacy.Retention() / (24 * time.Hour))}
	dir, sso, err := auth.FromConfig(cfg.Auth, wcfg.AdminPasswordFile, store, log.With("pkg", "auth"))
	if err != nil {
		return err
	}
	wcfg.Directory = dir
	if sso != nil {
		wcfg.OIDC = sso
	}
	srv, err := newHTTP(cfg, withMetrics(web.New(wcfg, store, rooms, log.With("pkg", "web")), mix, newSIPLimitCollector(phones.RateLimitStats)),
		readyChecks(phones, store.CheckWritable), log.With("pkg", "http"))
	if err != nil {
		return err
	}
	defer srv.Shutdown(context.Background())
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Serve() }()
	reloadOnSIGHUP(ctx, log, sighupItems(srv, sipCerts, trunks)...)
	sipDone := make(chan error, 1)
	// Not ctx: on SIGTERM the calls are drained first (phones.Drain below).
	go func() { sipDone <- phones.Serve(context.Background()) }()

	printJoinHints(ctx, stdout, cfg, store, srv.Addr(), phones.UDPAddr(), pin)
	log.Info("dialroom running", "http", srv.Addr().String(), "tls", cfg.HTTP.TLS.On(), "sip", phones.UDPAddr().String())
	if err := sdNotify("READY=1"); err != nil {
		log.Warn("telling systemd we are ready", "err", err)
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down: draining calls")
	case runErr = <-httpDone:
	case runErr = <-sipDone:
	}
	stop()
	_ = sdNotify("STOPPING=1")
	// Order matters: no new joins (HTTP closes), then callers hear the
	// "meeting is ending" prompt and get a BYE, then the mix, then the rooms.
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		runErr = errors.Join(runErr, err)
	}
	runErr = errors.Join(runErr, phones.Drain(context.Background(), cfg.Shutdown.Grace))
	endMeetings(rooms, log)
	runErr = errors.Join(runErr, mix.Close(), rooms.Close())
	if runErr != nil && !errors.Is(runErr, http.ErrServerClosed) && !errors.Is(runErr, net.ErrClosed) {
		return runErr
	}
	log.Info("stopped")
	return nil
}

// endMeetings tells every browser still in a room that the meeting has ended
// (the client shows its end screen instead of a reconnect banner). Phone
// callers are gone by now: Drain played them the prompt and hung up.
func endMeetings(rooms *sfu.Manager, log *slog.Logger) {
	for _, r := range rooms.Rooms() {
		if err := r.End(sfu.AdminActor); err != nil {
			log.Warn("ending meeting at shutdown", "room", r.ID(), "err", err)
		}
	}
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // validated by config.Load
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// seedDemo creates the demo room with a random PIN on first start and returns
// the PIN ("" when nothing was created). The PIN is printed once on the console
// for the person who started the server; it never goes to the log.
func seedDemo(ctx context.Context, cfg config.Config, store *dialplan.Store) (string, error) {
	if !cfg.Demo.On() {
		return "", nil
	}
	n, err := rand.Int(rand.Reader, big.NewInt(900000))
	if err != nil {
		return "", err
	}
	pin := fmt.Sprint(100000 + n.Int64())
	created, err := store.SeedDemo(ctx, cfg.Demo.Room, cfg.Demo.Number, pin)
	if err != nil || !created {
		return "", err
	}
	return pin, nil
}

// printJoinHints tells the person at the console how to join the demo room (or
// the first room) from a browser and from a phone on this machine.
func printJoinHints(ctx context.Context, w io.Writer, cfg config.Config, store *dialplan.Store, httpAddr net.Addr, sipAddr *net.UDPAddr, pin string) {
	base := strings.TrimSuffix(cfg.HTTP.PublicURL, "/")
	if base == "" {
		base = scheme(cfg) + "://" + hostPort(httpAddr.(*net.TCPAddr).IP, httpAddr.(*net.TCPAddr).Port, "localhost")
	}
	nums, err := store.Numbers(ctx)
	if err != nil {
		return
	}
	slug := cfg.Demo.Room
	if _, err := store.RoomBySlug(ctx, slug); err != nil {
		rs, err := store.Rooms(ctx)
		if err != nil || len(rs) == 0 {
			fmt.Fprintf(w, "dialroom is running: %s (no rooms yet: dialroom room add NAME)\n", base)
			return
		}
		slug = rs[0].Slug
	}
	fmt.Fprintf(w, "\ndialroom is running.\n  Browser: %s/r/%s\n", base, slug)
	for _, n := range nums {
		if n.RoomSlug != slug {
			continue
		}
		fmt.Fprintf(w, "  Phone:   sip:%s@%s", n.E164, hostPort(sipAddr.IP, sipAddr.Port, "127.0.0.1"))
		if pin != "" {
			fmt.Fprintf(w, "   PIN %s then #  (shown only now)", pin)
		}
		fmt.Fprintln(w)
		break
	}
	fmt.Fprintln(w)
}

// hostPort formats ip:port, using local for an unspecified IP.
func hostPort(ip net.IP, port int, local string) string {
	host := local
	if ip != nil && !ip.IsUnspecified() {
		host = ip.String()
	}
	return net.JoinHostPort(host, fmt.Sprint(port))
}

// sfuAdapter lets the mixer publish phone callers into the SFU's rooms.
type sfuAdapter struct{ m *sfu.Manager }

func (a sfuAdapter) AddPhone(roomID string, info mixer.PhoneInfo) (mixer.PhoneTrack, error) {
	role := sfu.RoleParticipant
	if info.Moderator {
		role = sfu.RoleModerator
	}
	var owner sfu.PhoneOwner
	if info.Owner != nil { // a nil mixer.PhoneOwner must stay a nil sfu.PhoneOwner
		owner = info.Owner
	}
	p, err := a.m.Room(roomID).AddPhone(sfu.PhoneInfo{ID: info.ID, Label: info.Label, Number: info.Number, Role: role, Owner: owner})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (a sfuAdapter) AddAudioSink(roomID string, s mixer.AudioSink) func() {
	return a.m.Room(roomID).AddAudioSink(s)
}

// bridgeAdapter lets the sip package put calls into the mixer.
type bridgeAdapter struct {
	m     *mixer.Mixer
	rooms *sfu.Manager // to tell the first participant (phonejoin.go)
}

func (b bridgeAdapter) Join(room string, info mixer.PhoneInfo, leg mixer.Leg) (sip.Membership, error) {
	return joinPhone(b.m, b.rooms, room, info, leg)
}

// scheme is the URL scheme browsers use to reach the server directly.
func scheme(cfg config.Config) string {
	if cfg.HTTP.TLS.On() {
		return "https"
	}
	return "http"
}

// sipTLSFiles is the SIP TLS listener's certificate and the CAs trusted
// for registrars reached over TLS.
type sipTLSFiles struct {
	certs *httpserve.CertFiles // nil without a TLS listener
	roots *x509.CertPool       // nil: the system roots
	// getCertificate is certs.GetCertificate, nil without a TLS listener.
	getCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
}

// sipTLS loads the SIP TLS listener's certificate, re-read when its files
// change (and on SIGHUP) as for HTTPS, and the CAs trusted for registrars
// over TLS.
func sipTLS(t config.SIPTLS, log *slog.Logger) (sipTLSFiles, error) {
	var f sipTLSFiles
	if t.On() {
		certs, err := httpserve.LoadCertFiles(t.CertFile, t.KeyFile, log)
		if err != nil {
			return f, fmt.Errorf("sip.tls: %w", err)
		}
		f.certs, f.getCertificate = certs, certs.GetCertificate
	}
	if t.CAFile == "" {
		return f, nil
	}
	pem, err := os.ReadFile(t.CAFile)
	if err != nil {
		return f, fmt.Errorf("sip.tls.ca_file: %w", err)
	}
	f.roots = x509.NewCertPool()
	if !f.roots.AppendCertsFromPEM(pem) {
		return f, fmt.Errorf("sip.tls.ca_file %s: no PEM certificate", t.CAFile)
	}
	return f, nil
}

// sighupItems is what a SIGHUP reloads: the HTTPS certificate, the SIP
// TLS certificate and the stored trunks (at once, without waiting for the
// next poll).
func sighupItems(srv *httpserve.Server, sipCerts sipTLSFiles, trunks *trunkReloader) []reloadable {
	items := []reloadable{{"https certificate", srv.Reload}}
	if sipCerts.certs != nil {
		items = append(items, reloadable{"sip tls certificate", sipCerts.certs.Reload})
	}
	return append(items, reloadable{"trunks", func() error { return trunks.reload(context.Background(), true) }})
}
