package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// SIPTLS configures SIP over TLS (RFC 3261 §26.2; port 5061 by
// convention). The certificate files are re-read when they change, so a
// renewed certificate needs no restart. Zero means no TLS listener.
type SIPTLS struct {
	// Listen is the TCP address SIP over TLS listens on, e.g. ":5061";
	// "" = no TLS listener.
	Listen string `yaml:"listen"`
	// CertFile is the PEM certificate chain presented to trunks.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key of CertFile.
	KeyFile string `yaml:"key_file"`
	// CAFile is a PEM file of CAs trusted for registrars reached over TLS
	// (transport: tls); "" = the system roots.
	CAFile string `yaml:"ca_file"`
}

// On reports whether the TLS listener is configured.
func (t SIPTLS) On() bool { return t.Listen != "" }

// sipTLSKeys are the keys of sip.tls; yaml.Node.Decode does not reject
// unknown ones, so UnmarshalYAML does.
var sipTLSKeys = map[string]bool{"listen": true, "cert_file": true, "key_file": true, "ca_file": true}

// UnmarshalYAML decodes sip.tls and checks it, so a bad section fails at
// load with its key named.
func (t *SIPTLS) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i].Value; !sipTLSKeys[k] {
				return fmt.Errorf("line %d: sip.tls.%s: unknown key", n.Content[i].Line, k)
			}
		}
	}
	type plain SIPTLS
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*t = SIPTLS(p)
	return t.validate()
}

func (t SIPTLS) validate() error {
	if !t.On() {
		if t.CertFile != "" || t.KeyFile != "" {
			return fmt.Errorf("sip.tls.listen: must be set with cert_file and key_file (e.g. \":5061\")")
		}
		return nil
	}
	if err := checkAddr(t.Listen); err != nil {
		return fmt.Errorf("sip.tls.listen: %w", err)
	}
	if t.CertFile == "" || t.KeyFile == "" {
		return fmt.Errorf("sip.tls.cert_file: cert_file and key_file are needed for sip.tls.listen")
	}
	return nil
}

// SRTPMode says whether a trunk's calls use SRTP (RFC 3711) with keys in
// the SDP (SDES, RFC 4568): "optional" (default) answers RTP/SAVP offers
// with SRTP and RTP/AVP offers with plain RTP; "required" refuses plain
// offers with 488; "off" refuses offers that have only RTP/SAVP.
type SRTPMode string

// The SRTP modes of a trunk.
const (
	SRTPOptional SRTPMode = "optional"
	SRTPRequired SRTPMode = "required"
	SRTPOff      SRTPMode = "off"
)

// UnmarshalYAML accepts optional, required or off.
func (m *SRTPMode) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	switch v := SRTPMode(strings.ToLower(strings.TrimSpace(s))); v {
	case SRTPOptional, SRTPRequired, SRTPOff, "":
		*m = v
		return nil
	}
	return fmt.Errorf("line %d: srtp: %q is not one of optional, required, off", n.Line, s)
}

// SIPTransport is how dialroom reaches a registrar: udp (default), tcp or
// tls. TLS needs sip.tls.listen, which the carrier's INVITEs then reach.
type SIPTransport string

// UnmarshalYAML accepts udp, tcp or tls.
func (tr *SIPTransport) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	switch v := SIPTransport(strings.ToLower(strings.TrimSpace(s))); v {
	case "udp", "tcp", "tls", "":
		*tr = v
		return nil
	}
	return fmt.Errorf("line %d: transport: %q is not one of udp, tcp, tls", n.Line, s)
}
