package config

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// TURN configures the TURN server browsers are given: the embedded one
// (Enabled) or an external one (URLs and Secret, e.g. coturn with
// use-auth-secret). Browsers get time-limited credentials in the style of
// the TURN REST API; the embedded server's secret is created in the data
// directory. No STUN server is ever handed out.
type TURN struct {
	// Enabled starts the embedded TURN server.
	Enabled bool `yaml:"enabled"`
	// Listen is the embedded server's address, on both UDP and TCP
	// (default ":3478").
	Listen string `yaml:"listen"`
	// Realm is the embedded server's realm (default "dialroom").
	Realm string `yaml:"realm"`
	// PublicIP is the address browsers reach the embedded server at and
	// its relay address; "" = webrtc.public_ip, else the listen IP.
	PublicIP string `yaml:"public_ip"`
	// RelayPortMin is the lowest UDP port of relayed media; 0 with
	// RelayPortMax 0 = any ephemeral port.
	RelayPortMin int `yaml:"relay_port_min"`
	// RelayPortMax is the highest UDP port of relayed media.
	RelayPortMax int `yaml:"relay_port_max"`
	// URLs are an external TURN server's URLs (turn: or turns:), used
	// instead of the embedded server.
	URLs []string `yaml:"urls"`
	// Secret is the external server's shared secret (coturn's
	// static-auth-secret).
	Secret string `yaml:"secret"`
	// CredentialTTL is how long a browser's TURN credentials stay valid
	// (default 12h); a relayed session cannot outlast it.
	CredentialTTL time.Duration `yaml:"credential_ttl"`
}

// On reports whether browsers are given a TURN server.
func (t TURN) On() bool { return t.Enabled || len(t.URLs) > 0 }

// TURNPublicIP returns the address browsers reach the embedded TURN server
// at: turn.public_ip, else webrtc.public_ip, else the listen IP ("" if
// none of them is set).
func (w WebRTC) TURNPublicIP() string {
	switch {
	case w.TURN.PublicIP != "":
		return w.TURN.PublicIP
	case w.PublicIP != "":
		return w.PublicIP
	}
	host, _, err := net.SplitHostPort(w.TURN.Listen)
	if ip := net.ParseIP(host); err == nil && ip != nil && !ip.IsUnspecified() {
		return host
	}
	return ""
}

func (c *Config) fillTURNDefaults() {
	t := &c.WebRTC.TURN
	if t.Listen == "" {
		t.Listen = ":3478"
	}
	if t.Realm == "" {
		t.Realm = "dialroom"
	}
	if t.URLs == nil {
		t.URLs = []string{}
	}
	if t.CredentialTTL == 0 {
		t.CredentialTTL = 12 * time.Hour
	}
}

// validateTransport checks webrtc.udp_port, webrtc.tcp_port and webrtc.turn.
func (c Config) validateTransport() error {
	w := c.WebRTC
	for _, p := range []struct {
		key  string
		port int
	}{{"webrtc.udp_port", w.UDPPort}, {"webrtc.tcp_port", w.TCPPort}} {
		if p.port != 0 {
			if err := checkPort(p.port); err != nil {
				return fmt.Errorf("%s: %w", p.key, err)
			}
		}
	}
	if w.UDPPort != 0 && (w.UDPPortMin != 0 || w.UDPPortMax != 0) {
		return fmt.Errorf("webrtc.udp_port: set either it or webrtc.udp_port_min/max, not both")
	}
	return w.TURN.validate(w)
}

func (t TURN) validate(w WebRTC) error {
	if t.Enabled && len(t.URLs) > 0 {
		return fmt.Errorf("webrtc.turn.urls: an external server excludes webrtc.turn.enabled (the embedded one)")
	}
	for i, u := range t.URLs {
		if !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			return fmt.Errorf("webrtc.turn.urls[%d]: %q must start with turn: or turns:", i, u)
		}
	}
	if len(t.URLs) > 0 && t.Secret == "" {
		return fmt.Errorf("webrtc.turn.secret: needed with webrtc.turn.urls (the external server's shared secret)")
	}
	if t.CredentialTTL < time.Minute {
		return fmt.Errorf("webrtc.turn.credential_ttl: %v must be at least 1m", t.CredentialTTL)
	}
	if !t.Enabled {
		return nil
	}
	if err := checkAddr(t.Listen); err != nil {
		return fmt.Errorf("webrtc.turn.listen: %w", err)
	}
	if err := checkIP(t.PublicIP); err != nil {
		return fmt.Errorf("webrtc.turn.public_ip: %w", err)
	}
	if w.TURNPublicIP() == "" {
		return fmt.Errorf("webrtc.turn.public_ip: needed (the address browsers reach the TURN server at), or set webrtc.public_ip")
	}
	if t.RelayPortMin == 0 && t.RelayPortMax == 0 {
		return nil
	}
	if err := checkPort(t.RelayPortMin); err != nil {
		return fmt.Errorf("webrtc.turn.relay_port_min: %w", err)
	}
	if err := checkPort(t.RelayPortMax); err != nil {
		return fmt.Errorf("webrtc.turn.relay_port_max: %w", err)
	}
	if t.RelayPortMin > t.RelayPortMax {
		return fmt.Errorf("webrtc.turn.relay_port_min: must not be above webrtc.turn.relay_port_max")
	}
	return nil
}
