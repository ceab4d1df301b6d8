package sip

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Trunk is a carrier (or PBX) allowed to place calls. A request is from
// the trunk when its source address lies in Sources; a trunk that has a
// Username must in addition answer a digest challenge (407, RFC 3261 §22.3)
// on each new INVITE. A trunk with a Username and no Sources may call from
// anywhere once it authenticates.
type Trunk struct {
	Name     string         // shown in logs and in `dialroom trunk list`
	Sources  []netip.Prefix // source addresses of the trunk's signalling
	Username string         // digest user name; "" means no challenge
	Password string         // digest password
	MaxCalls int            // concurrent calls from this trunk; 0 means no limit (503 beyond it)
	Register *Registration  // register with the carrier; nil for an IP trunk
	// MaxDuration ends a call from this trunk after this long (goodbye
	// prompt, then BYE); 0 means no limit.
	MaxDuration time.Duration
	// SRTP says whether the trunk's calls may, must or must not use SRTP
	// (sdes.go); "" means SRTPOptional.
	SRTP SRTPMode
}

// loopbackTrunk is the name of the implicit trunk for 127.0.0.0/8 and ::1.
const loopbackTrunk = "loopback"

// trunkTable decides which trunk a request comes from. The trunk set can
// be replaced while the server runs (ReplaceTrunks): readers load the
// current immutable set atomically, so it is safe for concurrent use.
type trunkTable struct {
	set            atomic.Pointer[trunkSet]
	trustLoopback  bool
	dropUnknown    bool // unknown sources get no answer at all
	digestRealm    string
	loopbackSource Trunk
}

// trunkSet is one immutable generation of trunks.
type trunkSet struct {
	trunks     []Trunk
	digestOnly bool // a trunk with credentials and no Sources exists
}

func newTrunkTable(cfg Config) *trunkTable {
	t := &trunkTable{trustLoopback: !cfg.RefuseLoopback,
		dropUnknown: cfg.DropUnknown, digestRealm: cfg.Realm,
		loopbackSource: Trunk{Name: loopbackTrunk}}
	if t.digestRealm == "" {
		t.digestRealm = "dialroom"
	}
	t.replace(cfg.Trunks)
	return t
}

// replace makes trunks the current set; requests already matched to a
// trunk of the old set keep the Trunk value they got.
func (t *trunkTable) replace(trunks []Trunk) {
	set := &trunkSet{trunks: slices.Clone(trunks)}
	for _, tr := range trunks {
		if tr.Username != "" && len(tr.Sources) == 0 {
			set.digestOnly = true
		}
	}
	t.set.Store(set)
}

// hasDigestOnly reports whether a trunk with credentials and no Sources
// exists: then anyone may be challenged.
func (t *trunkTable) hasDigestOnly() bool { return t.set.Load().digestOnly }

// bySource returns the trunk whose Sources hold addr, the implicit loopback
// trunk when loopback is trusted, or false.
func (t *trunkTable) bySource(addr netip.Addr) (Trunk, bool) {
	addr = addr.Unmap()
	for _, tr := range t.set.Load().trunks {
		for _, p := range tr.Sources {
			if p.Contains(addr) {
				return tr, true
			}
		}
	}
	if t.trustLoopback && addr.IsLoopback() {
		return t.loopbackSource, true
	}
	return Trunk{}, false
}

// byUser returns the source-less digest trunk with user name u.
func (t *trunkTable) byUser(u string) (Trunk, bool) {
	for _, tr := range t.set.Load().trunks {
		if tr.Username != "" && len(tr.Sources) == 0 && tr.Username == u {
			return tr, true
		}
	}
	return Trunk{}, false
}

// mayDrop reports whether a packet from addr can be dropped unseen: drop
// mode is on, addr belongs to no trunk, and no trunk may call from
// anywhere with a password.
func (t *trunkTable) mayDrop(addr netip.Addr) bool {
	if !t.dropUnknown || t.hasDigestOnly() {
		return false
	}
	_, ok := t.bySource(addr)
	return !ok
}

// acquire reserves a call slot for trunk t: false (answer 503) when the
// trunk or the server as a whole is at its limit. release gives it back.
func (s *Server) acquire(t Trunk) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.MaxCalls > 0 && s.slots[""] >= s.cfg.MaxCalls {
		return false
	}
	if t.MaxCalls > 0 && s.slots[t.Name] >= t.MaxCalls {
		return false
	}
	s.slots[""]++
	s.slots[t.Name]++
	return true
}

func (s *Server) release(t Trunk) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slots[""]--
	s.slots[t.Name]--
}

// sourceAddr is the IP a request arrived from.
func sourceAddr(req *sip.Request) netip.Addr {
	host, _, err := net.SplitHostPort(req.Source())
	if err != nil {
		host = req.Source()
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap()
}

// filterConn drops datagrams from sources mayDrop rejects before sipgo parses
// them, so that scanners learn nothing and cost next to nothing.
type filterConn struct {
	net.PacketConn
	trunks *trunkTable
	ready  func() // called before each read: sipgo reads only once the socket is in its pool
}

// ReadFrom returns the next datagram from an allowed source.
func (c filterConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.ready()
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil {
			return n, addr, err
		}
		if ua, ok := addr.(*net.UDPAddr); ok && c.trunks.mayDrop(ua.AddrPort().Addr()) {
			continue
		}
		return n, addr, nil
	}
}

// filterListener closes TCP connections from sources mayDrop rejects.
type filterListener struct {
	net.Listener
	trunks *trunkTable
}

// Accept returns the next connection from an allowed source.
func (l filterListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return c, err
		}
		if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok && l.trunks.mayDrop(ta.AddrPort().Addr()) {
			c.Close()
			continue
		}
		return c, nil
	}
}
