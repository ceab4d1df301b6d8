package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// validateTrunks checks sip.trunks: unique names, parseable sources, and a
// way to recognise each trunk (sources, or digest credentials).
func validateTrunks(trunks []Trunk) error {
	seen := make(map[string]bool, len(trunks))
	for i, t := range trunks {
		at := fmt.Sprintf("sip.trunks[%d]", i)
		switch {
		case strings.TrimSpace(t.Name) == "":
			return fmt.Errorf("%s.name: must not be empty", at)
		case t.Name == "loopback":
			return fmt.Errorf("%s.name: %q is reserved for sip.trust_loopback", at, t.Name)
		case seen[t.Name]:
			return fmt.Errorf("%s.name: %q is used twice", at, t.Name)
		case len(t.Sources) == 0 && t.Username == "" && t.Register == nil:
			return fmt.Errorf("%s: needs sources, a username or register", at)
		case t.Register != nil && (t.Register.Registrar == "" || t.Register.Username == "" || t.Register.Password == ""):
			return fmt.Errorf("%s.register: needs registrar, username and password", at)
		case t.Register != nil && t.Register.Expires < 0:
			return fmt.Errorf("%s.register.expires: must not be negative", at)
		case t.Username != "" && t.Password == "":
			return fmt.Errorf("%s.password: must be set with username", at)
		case t.MaxCalls < 0:
			return fmt.Errorf("%s.max_calls: %d must not be negative", at, t.MaxCalls)
		case t.MaxDuration < 0:
			return fmt.Errorf("%s.max_duration: %v must not be negative", at, t.MaxDuration)
		}
		seen[t.Name] = true
		if _, err := TrunkSources(t.Sources); err != nil {
			return fmt.Errorf("%s.sources: %w", at, err)
		}
	}
	return nil
}

// TrunkSources parses trunk sources, each an IP address or a CIDR prefix.
func TrunkSources(srcs []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(srcs))
	for _, s := range srcs {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR prefix", s)
		}
		ip = ip.Unmap()
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out, nil
}
