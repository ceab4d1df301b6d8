package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// TLS configures HTTPS: either certificate files or ACME, not both.
type TLS struct {
	// CertFile is a PEM certificate chain; reloaded on SIGHUP or change.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key of CertFile.
	KeyFile string `yaml:"key_file"`
	// ACME gets certificates automatically (Let's Encrypt by default).
	ACME ACME `yaml:"acme"`
}

// On reports whether HTTPS is configured.
func (t TLS) On() bool { return t.CertFile != "" || len(t.ACME.Hosts) > 0 }

// ACME configures automatic certificates. The account key and certificates
// are cached in <data_dir>/acme.
type ACME struct {
	// Hosts are the public host names to get certificates for; empty = off.
	Hosts []string `yaml:"hosts"`
	// Email is the contact address given to the ACME server; may be "".
	Email string `yaml:"email"`
	// DirectoryURL is the ACME directory; "" = Let's Encrypt production.
	DirectoryURL string `yaml:"directory_url"`
	// CAFile is a PEM root CA to trust for a private ACME server (e.g.
	// step-ca); "" = the system roots.
	CAFile string `yaml:"ca_file"`
}

// Shutdown configures what SIGTERM does.
type Shutdown struct {
	// Grace is how long callers hear the "meeting is ending" prompt and
	// joins are refused before every call is hung up with BYE.
	Grace time.Duration `yaml:"grace"`
}

func (c *Config) fillDeployDefaults() {
	if c.Shutdown.Grace == 0 {
		c.Shutdown.Grace = 10 * time.Second
	}
	if c.HTTP.TrustedProxies == nil {
		c.HTTP.TrustedProxies = []string{}
	}
	if c.HTTP.TLS.ACME.Hosts == nil {
		c.HTTP.TLS.ACME.Hosts = []string{}
	}
}

func (c Config) validateTLS() error {
	t := c.HTTP.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		return fmt.Errorf("http.tls.cert_file: cert_file and key_file must be set together")
	}
	if t.CertFile != "" && len(t.ACME.Hosts) > 0 {
		return fmt.Errorf("http.tls.acme.hosts: use either cert_file/key_file or acme, not both")
	}
	for i, h := range t.ACME.Hosts {
		if !strings.Contains(strings.Trim(h, "."), ".") || strings.ContainsAny(h, ":/ ") {
			return fmt.Errorf("http.tls.acme.hosts[%d]: %q is not a public host name", i, h)
		}
	}
	if u := t.ACME.DirectoryURL; u != "" && !strings.HasPrefix(u, "https://") {
		return fmt.Errorf("http.tls.acme.directory_url: %q must start with https://", u)
	}
	return nil
}

func (c Config) validateProxies() error {
	if c.HTTP.RedirectListen != "" {
		if err := checkAddr(c.HTTP.RedirectListen); err != nil {
			return fmt.Errorf("http.redirect_listen: %w", err)
		}
	}
	for i, p := range c.HTTP.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(p); err != nil {
			return fmt.Errorf("http.trusted_proxies[%d]: %q is neither an IP nor an IP/prefix", i, p)
		}
	}
	return nil
}

func (c Config) validateShutdown() error {
	if c.Shutdown.Grace < 0 || c.Shutdown.Grace > 10*time.Minute {
		return fmt.Errorf("shutdown.grace: %v must be between 0s and 10m", c.Shutdown.Grace)
	}
	return nil
}
