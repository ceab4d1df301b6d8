package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSIPTLSConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string // substring; "" means valid
	}{
		{"off", "sip:\n  listen: \":5060\"\n", ""},
		{"tls", "sip:\n  tls: {listen: \":5061\", cert_file: /etc/dialroom/sip.pem, key_file: /etc/dialroom/sip.key}\n", ""},
		{"tls with ca", "sip:\n  tls: {listen: \"127.0.0.1:5061\", cert_file: c, key_file: k, ca_file: ca.pem}\n", ""},
		{"no key", "sip:\n  tls: {listen: \":5061\", cert_file: c}\n", "sip.tls.cert_file"},
		{"files without listen", "sip:\n  tls: {cert_file: c, key_file: k}\n", "sip.tls.listen"},
		{"bad listen", "sip:\n  tls: {listen: \"5061\", cert_file: c, key_file: k}\n", "sip.tls.listen"},
		{"unknown key", "sip:\n  tls: {listen: \":5061\", cert: c}\n", "sip.tls.cert: unknown key"},
		{"srtp required", "sip:\n  trunks:\n    - {name: a, sources: [192.0.2.1], srtp: required}\n", ""},
		{"srtp off", "sip:\n  trunks:\n    - {name: a, sources: [192.0.2.1], srtp: off}\n", ""},
		{"srtp bad", "sip:\n  trunks:\n    - {name: a, sources: [192.0.2.1], srtp: mandatory}\n", "srtp: \"mandatory\""},
		{"transport tls", "sip:\n  trunks:\n    - name: reg\n      register: {registrar: \"sip.carrier.example:5061\", username: u, password: p, transport: tls}\n", ""},
		{"transport bad", "sip:\n  trunks:\n    - name: reg\n      register: {registrar: r, username: u, password: p, transport: sctp}\n", "transport: \"sctp\""},
	}
	for _, tt := range tests {
		c, err := Parse([]byte(tt.yaml))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v, want valid", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: err %v, want it to contain %q", tt.name, err, tt.wantErr)
		case tt.name == "srtp required" && c.SIP.Trunks[0].SRTP != SRTPRequired:
			t.Errorf("%s: srtp %q, want required", tt.name, c.SIP.Trunks[0].SRTP)
		}
	}
}

// check-config reports a bad sip.tls section too.
func TestSIPTLSCheckFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("sip:\n  tls: {listen: \":5061\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	errs := CheckFile(path)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "sip.tls") {
		t.Fatalf("CheckFile: %v, want one error about sip.tls", errs)
	}
}
