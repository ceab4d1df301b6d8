// Package config owns dialroom's one process configuration: the Config
// struct, its defaults, YAML loading and validation. It is a leaf package:
// it imports nothing from dialroom, and it holds no global state. Rooms,
// numbers and PINs are not configuration; they live in dialplan's database.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole process configuration. Zero values mean "use the
// default"; Load fills them in and validates the result.
type Config struct {
	// DataDir is the directory that holds the SQLite database.
	DataDir string `yaml:"data_dir"`
	// Log configures the process logger.
	Log Log `yaml:"log"`
	// HTTP configures the web server (browser client, signalling, admin API).
	HTTP HTTP `yaml:"http"`
	// SIP configures the SIP trunk side and phone RTP.
	SIP SIP `yaml:"sip"`
	// WebRTC configures ICE for browser participants.
	WebRTC WebRTC `yaml:"webrtc"`
	// Demo configures the demo room created on first start.
	Demo Demo `yaml:"demo"`
	// Shutdown configures the graceful stop on SIGTERM (see deploy.go).
	Shutdown Shutdown `yaml:"shutdown"`
	// Mixer configures the phone audio bridge (see mixer.go).
	Mixer Mixer `yaml:"mixer"`
	// Auth configures directory logins and roles (see auth.go).
	Auth Auth `yaml:"auth"`
	// Privacy configures retention and the privacy page (see abuse.go).
	Privacy Privacy `yaml:"privacy"`
}

// Log configures log/slog output.
type Log struct {
	// Level is the minimum level logged: debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// HTTP configures the HTTP listener.
type HTTP struct {
	// Listen is the TCP address the HTTP server listens on, e.g. ":8080".
	Listen string `yaml:"listen"`
	// PublicURL is the base URL printed in join hints; "" means
	// http://<host>:<port> derived from Listen.
	PublicURL string `yaml:"public_url"`
	// TLS turns HTTPS on for Listen (see deploy.go).
	TLS TLS `yaml:"tls"`
	// RedirectListen is a plain-HTTP address (e.g. ":80") that redirects
	// to HTTPS and answers ACME http-01 challenges; "" = none. Only
	// used when TLS is on.
	RedirectListen string `yaml:"redirect_listen"`
	// TrustedProxies lists the IPs or prefixes of reverse proxies whose
	// X-Forwarded-For/-Proto/-Host headers are believed; empty = none.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// SIP configures the SIP listener and phone media.
type SIP struct {
	// Listen is the address SIP listens on, over both UDP and TCP.
	Listen string `yaml:"listen"`
	// MediaIP is the IP written into the SDP c= line; "" means the local
	// address the call arrived on.
	MediaIP string `yaml:"media_ip"`
	// RTPPortMin is the lowest UDP port used for phone RTP.
	RTPPortMin int `yaml:"rtp_port_min"`
	// RTPPortMax is the highest UDP port used for phone RTP.
	RTPPortMax int `yaml:"rtp_port_max"`
	// RTPTimeout hangs up a call when no RTP arrived for this long.
	RTPTimeout time.Duration `yaml:"rtp_timeout"`
	// Trunks lists the carriers and PBXs allowed to place calls.
	Trunks []Trunk `yaml:"trunks"`
	// TrustLoopback treats 127.0.0.0/8 and ::1 as a trunk named "loopback"
	// (default true, so a softphone on the same machine can call).
	TrustLoopback *bool `yaml:"trust_loopback"`
	// DropUnknown ignores requests from unknown sources instead of
	// answering 403 Forbidden.
	DropUnknown bool `yaml:"drop_unknown"`
	// Realm is the digest realm of 407 challenges; "" means "dialroom".
	Realm string `yaml:"realm"`
	// MaxCalls limits concurrent phone calls in total (503 beyond it); 0 = no limit.
	MaxCalls int `yaml:"max_calls"`
	// QuietJoinLeave turns off the short tones callers hear when someone
	// joins or leaves their room (on by default, as in Asterisk ConfBridge).
	QuietJoinLeave bool `yaml:"quiet_join_leave"`
	// PromptsDir holds replacement recordings, LANG/NAME.wav (8 kHz mono
	// 16-bit), e.g. de/enter_pin.wav; "" = only the built-in prompts.
	PromptsDir string `yaml:"prompts_dir"`
	// TLS configures SIP over TLS (see siptls.go).
	TLS SIPTLS `yaml:"tls"`
	// RateLimit limits requests per source address, with temporary bans (see abuse.go).
	RateLimit SIPRateLimit `yaml:"rate_limit"`
}

// Trunk is a carrier or PBX allowed to place calls.
type Trunk struct {
	// Name identifies the trunk in logs and in `dialroom trunk list`.
	Name string `yaml:"name"`
	// Sources lists the IP addresses or CIDR prefixes the trunk's SIP
	// requests come from.
	Sources []string `yaml:"sources"`
	// Username, when set, makes every new INVITE from the trunk answer a
	// digest challenge (407) with Username and Password. A trunk with a
	// Username and no Sources may call from any address.
	Username string `yaml:"username"`
	// Password is the digest password.
	Password string `yaml:"password"`
	// MaxCalls limits concurrent calls from this trunk (503 beyond it); 0 = no limit.
	MaxCalls int `yaml:"max_calls"`
	// MaxDuration ends calls from this trunk after this long (goodbye
	// prompt, then BYE); 0 = no limit.
	MaxDuration time.Duration `yaml:"max_duration"`
	// Register, when set, makes dialroom register with the carrier's
	// registrar; calls then arrive on that registration.
	Register *Registration `yaml:"register"`
	// SRTP is optional (default), required or off (see siptls.go).
	SRTP SRTPMode `yaml:"srtp"`
}

// Registration configures REGISTER towards a carrier's registrar.
type Registration struct {
	// Registrar is host:port of the registrar (UDP); the port defaults to 5060.
	Registrar string `yaml:"registrar"`
	// Username is the user part of the address of record and the digest user.
	Username string `yaml:"username"`
	// Password is the digest password.
	Password string `yaml:"password"`
	// Domain is the domain of the address of record; "" = the registrar's host.
	Domain string `yaml:"domain"`
	// Expires is the registration lifetime asked for; 0 = 5m.
	Expires time.Duration `yaml:"expires"`
	// Transport is udp (default), tcp or tls (see siptls.go).
	Transport SIPTransport `yaml:"transport"`
}

// LoopbackTrusted reports whether loopback is an implicit trunk (default true).
func (s SIP) LoopbackTrusted() bool { return s.TrustLoopback == nil || *s.TrustLoopback }

// WebRTC configures ICE candidate gathering.
type WebRTC struct {
	// ICEIPs lists the IPs ICE may offer as host candidates; empty means
	// all non-loopback addresses. Loopback IPs listed here are offered too
	// (tests use 127.0.0.1).
	ICEIPs []string `yaml:"ice_ips"`
	// ICEInterfaces lists the interface names ICE may use; empty means all.
	ICEInterfaces []string `yaml:"ice_interfaces"`
	// PublicIP is announced instead of host addresses behind a 1:1 NAT.
	PublicIP string `yaml:"public_ip"`
	// UDPPortMin is the lowest UDP port for ICE; 0 with UDPPortMax 0 means
	// ephemeral ports.
	UDPPortMin int `yaml:"udp_port_min"`
	// UDPPortMax is the highest UDP port for ICE.
	UDPPortMax int `yaml:"udp_port_max"`
	// UDPPort, when set, carries every participant's ICE on this one UDP
	// port instead of a port each (see webrtc_turn.go); 0 = off.
	UDPPort int `yaml:"udp_port"`
	// TCPPort, when set, accepts ICE over TCP on this port, for networks
	// that block UDP; 0 = off.
	TCPPort int `yaml:"tcp_port"`
	// TURN configures the embedded or an external TURN server (see webrtc_turn.go).
	TURN TURN `yaml:"turn"`
	// WebRTCSFU holds audio_last_n (see webrtc_sfu.go).
	WebRTCSFU `yaml:",inline"`
	// WebRTCBatch holds batch_io (see webrtc_batch.go).
	WebRTCBatch `yaml:",inline"`
}

// Demo configures the demo room created when the data directory is empty.
type Demo struct {
	// Enabled creates the demo room and number on first start. A pointer
	// so that an explicit "false" differs from "not set" (default true).
	Enabled *bool `yaml:"enabled"`
	// Room is the demo room's slug.
	Room string `yaml:"room"`
	// Number is the phone number (E.164) assigned to the demo room.
	Number string `yaml:"number"`
}

// On reports whether the demo room should be created (default true).
func (d Demo) On() bool { return d.Enabled == nil || *d.Enabled }

// Default returns the configuration used when no file or key is given.
func Default() Config {
	on := true
	return Config{
		DataDir: "./data",
		Log:     Log{Level: "info", Format: "text"},
		HTTP:    HTTP{Listen: ":8080", TrustedProxies: []string{}, TLS: TLS{ACME: ACME{Hosts: []string{}}}},
		SIP: SIP{
			Listen:        ":5060",
			RTPPortMin:    10000,
			RTPPortMax:    10999,
			RTPTimeout:    30 * time.Second,
			Trunks:        []Trunk{},
			TrustLoopback: &on,
		},
		WebRTC: WebRTC{ICEIPs: []string{}, ICEInterfaces: []string{},
			TURN: TURN{Listen: ":3478", Realm: "dialroom", URLs: []string{}, CredentialTTL: 12 * time.Hour}},
		Demo:     Demo{Enabled: &on, Room: "demo", Number: "+4930123456"},
		Shutdown: Shutdown{Grace: 10 * time.Second},
		Mixer:    Mixer{Talkers: 3},
	}
}

// Load reads the YAML file at path, fills defaults for zero values and
// validates. path "" returns Default().
func Load(path string) (Config, error) {
	if path == "" {
		return Default(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes YAML bytes (unknown keys are an error), fills defaults for
// zero values and validates.
func Parse(b []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, err
	}
	c.fillDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}
