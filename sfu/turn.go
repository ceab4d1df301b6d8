package sfu

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // TURN REST credentials are HMAC-SHA1 by definition
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"
)

// defaultCredentialTTL is how long TURN credentials handed to a browser stay
// valid when TURNConfig.TTL is 0. An allocation is refreshed with the same
// credentials, so this bounds how long a relayed meeting can last.
const defaultCredentialTTL = 12 * time.Hour

// TURNConfig configures the TURN server browsers are told about: the
// embedded one (Listen set) or an external one (URLs set, e.g. coturn with
// use-auth-secret). Browsers get time-limited credentials in the style of the
// TURN REST API (draft-uberti-behave-turn-rest-00): the user name is
// "expiry-unix-time:id" and the password base64(HMAC-SHA1(Secret, user name)).
type TURNConfig struct {
	// Listen is the embedded server's address, on UDP and TCP ("host:port";
	// port 0 picks one, the same for both); "" = no embedded server.
	Listen string
	// Realm is the embedded server's realm; "" = "dialroom".
	Realm string
	// PublicIP is where browsers reach the embedded server; it is also the
	// relay address it announces. Required with Listen.
	PublicIP string
	// RelayPortMin and RelayPortMax bound the embedded server's relay ports;
	// both 0 = any port.
	RelayPortMin, RelayPortMax uint16
	// URLs are an external TURN server's URLs, used when Listen is "".
	URLs []string
	// Secret is the shared secret of the credentials.
	Secret string
	// TTL is how long credentials stay valid; 0 = 12h.
	TTL time.Duration
}

// turnCredentials mints credentials for the TURN URLs.
type turnCredentials struct {
	urls   []string
	secret string
	ttl    time.Duration
	now    func() time.Time
}

func (c *turnCredentials) iceServers() []webrtc.ICEServer {
	var id [6]byte
	_, _ = rand.Read(id[:])
	user, pass := restCredentials(c.secret, hex.EncodeToString(id[:]), c.now().Add(c.ttl))
	return []webrtc.ICEServer{{URLs: slices.Clone(c.urls), Username: user, Credential: pass,
		CredentialType: webrtc.ICECredentialTypePassword}}
}

// restCredentials returns a TURN REST user name and password valid until expiry.
func restCredentials(secret, id string, expiry time.Time) (user, pass string) {
	user = strconv.FormatInt(expiry.Unix(), 10) + ":" + id
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(user))
	return user, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// maxAllocationsPerIP bounds the relays one source address may hold on the
// embedded server. A browser needs one or two (UDP and TCP) per ICE
// gathering; a few browsers may share a NAT address.
const maxAllocationsPerIP = 32

// allocationQuota counts the embedded server's relays per source IP, so that
// one holder of credentials cannot take every relay port.
type allocationQuota struct {
	max int
	mu  sync.Mutex
	n   map[string]int // by source IP
}

func newAllocationQuota(max int) *allocationQuota {
	return &allocationQuota{max: max, n: map[string]int{}}
}

// allow is turn.QuotaHandler: it admits a new allocation from src while the
// address holds fewer than max.
func (q *allocationQuota) allow(_, _ string, src net.Addr) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n[hostOf(src)] < q.max
}

// created and deleted follow the server's allocations.
func (q *allocationQuota) created(src, _ net.Addr, _, _, _ string, _ net.Addr, _ int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.n[hostOf(src)]++
}

func (q *allocationQuota) deleted(src, _ net.Addr, _, _, _ string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := hostOf(src)
	if q.n[k]--; q.n[k] <= 0 {
		delete(q.n, k)
	}
}

// hostOf returns the IP of a UDP or TCP address.
func hostOf(a net.Addr) string {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.IP.String()
	case *net.TCPAddr:
		return a.IP.String()
	}
	if a == nil {
		return ""
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

// turnServer is the embedded TURN server and its two sockets.
type turnServer struct {
	srv *turn.Server
}

func (s *turnServer) Close() error { return s.srv.Close() }

// openTURN starts the embedded TURN server, or remembers the external one.
func (t *Transport) openTURN(cfg TransportConfig) error {
	tc := cfg.TURN
	if tc.Listen == "" && len(tc.URLs) == 0 {
		return nil
	}
	if tc.Secret == "" {
		return errors.New("sfu: turn: no shared secret")
	}
	ttl := tc.TTL
	if ttl <= 0 {
		ttl = defaultCredentialTTL
	}
	creds := &turnCredentials{urls: tc.URLs, secret: tc.Secret, ttl: ttl, now: time.Now}
	if tc.Listen != "" {
		srv, urls, err := startTURN(cfg)
		if err != nil {
			return fmt.Errorf("sfu: turn: %w", err)
		}
		t.turn = srv
		creds.urls = urls
		t.log.Info("turn server listening", "urls", urls)
	}
	t.creds = creds
	return nil
}

// startTURN listens on UDP and TCP and returns the server and its URLs.
func startTURN(cfg TransportConfig) (*turnServer, []string, error) {
	tc := cfg.TURN
	public := net.ParseIP(tc.PublicIP)
	if public == nil {
		return nil, nil, fmt.Errorf("public ip %q: not an IP address", tc.PublicIP)
	}
	pc, err := net.ListenPacket("udp", tc.Listen)
	if err != nil {
		return nil, nil, err
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	host, _, _ := net.SplitHostPort(tc.Listen)
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		_ = pc.Close()
		return nil, nil, err
	}
	allowed, err := relayPeers(cfg)
	if err != nil {
		_ = pc.Close()
		_ = ln.Close()
		return nil, nil, err
	}
	relayHost := host
	if relayHost == "" {
		relayHost = "0.0.0.0"
	}
	gen := relayGenerator(public, relayHost, tc.RelayPortMin, tc.RelayPortMax)
	realm := tc.Realm
	if realm == "" {
		realm = "dialroom"
	}
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelError
	quota := newAllocationQuota(maxAllocationsPerIP)
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm:             realm,
		AuthHandler:       turn.LongTermTURNRESTAuthHandler(tc.Secret, f.NewLogger("turn")),
		QuotaHandler:      quota.allow,
		EventHandler:      turn.EventHandler{OnAllocationCreated: quota.created, OnAllocationDeleted: quota.deleted},
		LoggerFactory:     f,
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: pc, RelayAddressGenerator: gen, PermissionHandler: allowed}},
		ListenerConfigs:   []turn.ListenerConfig{{Listener: ln, RelayAddressGenerator: gen, PermissionHandler: allowed}},
	})
	if err != nil {
		_ = pc.Close()
		_ = ln.Close()
		return nil, nil, err
	}
	hp := net.JoinHostPort(public.String(), strconv.Itoa(port))
	return &turnServer{srv: srv},
		[]string{"turn:" + hp + "?transport=udp", "turn:" + hp + "?transport=tcp"}, nil
}

func relayGenerator(public net.IP, bind string, lo, hi uint16) turn.RelayAddressGenerator {
	if lo != 0 && hi != 0 {
		return &turn.RelayAddressGeneratorPortRange{RelayAddress: public, Address: bind, MinPort: lo, MaxPort: hi}
	}
	return &turn.RelayAddressGeneratorStatic{RelayAddress: public, Address: bind}
}

// relayPeers returns the TURN permission check: the embedded server relays
// only to this server's own ICE addresses (ICEIPs, or else every
// non-loopback address of the host, plus PublicIP), so it cannot be used to
// reach anything else.
func relayPeers(cfg TransportConfig) (turn.PermissionHandler, error) {
	var ips []net.IP
	for _, s := range cfg.ICEIPs {
		if ip := net.ParseIP(s); ip != nil {
			ips = append(ips, ip)
		}
	}
	if len(ips) == 0 {
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return nil, fmt.Errorf("local addresses: %w", err)
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() {
				ips = append(ips, n.IP)
			}
		}
	}
	if ip := net.ParseIP(cfg.PublicIP); ip != nil {
		ips = append(ips, ip)
	}
	return func(_ net.Addr, peer net.IP) bool { return slices.ContainsFunc(ips, peer.Equal) }, nil
}
