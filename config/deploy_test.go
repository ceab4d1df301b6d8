package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestDeployKeys(t *testing.T) {
	tests := []struct {
		yaml    string
		wantErr string // "" = valid
	}{
		{"http: {tls: {cert_file: /c.pem, key_file: /k.pem}, redirect_listen: \":80\"}", ""},
		{"http: {tls: {acme: {hosts: [meet.example.org], email: a@b.c}}}", ""},
		{"http: {trusted_proxies: [127.0.0.1, \"::1\", 10.0.0.0/8]}", ""},
		{"shutdown: {grace: 0s}", ""},
		{"http: {tls: {key_file: /k.pem}}", "http.tls.cert_file:"},
		{"http: {tls: {cert_file: /c.pem, key_file: /k.pem, acme: {hosts: [a.b]}}}", "http.tls.acme.hosts:"},
		{"http: {tls: {acme: {hosts: [localhost]}}}", "http.tls.acme.hosts[0]:"},
		{"http: {tls: {acme: {hosts: [a.b], directory_url: \"http://x/dir\"}}}", "http.tls.acme.directory_url:"},
		{"http: {redirect_listen: \"80\"}", "http.redirect_listen:"},
		{"http: {trusted_proxies: [proxy.local]}", "http.trusted_proxies[0]:"},
		{"shutdown: {grace: 11m}", "shutdown.grace:"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.yaml))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: got %v, want valid", tt.yaml, err)
		case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
			t.Errorf("%s: got %v, want an error starting %q", tt.yaml, err, tt.wantErr)
		}
	}
	c, err := Parse(nil)
	if err != nil || c.Shutdown.Grace != 10*time.Second || c.HTTP.TLS.On() {
		t.Errorf("defaults: got grace %v, TLS %v, %v; want 10s, off", c.Shutdown.Grace, c.HTTP.TLS.On(), err)
	}
}

// TestDeployDocExampleIsValid keeps the configuration shown in
// docs/deploy.md valid: the full example (the first block) and every
// fragment after it.
func TestDeployDocExampleIsValid(t *testing.T) {
	doc, err := os.ReadFile("../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for rest := string(doc); ; {
		var ok bool
		if _, rest, ok = strings.Cut(rest, "```yaml\n"); !ok {
			break
		}
		var block string
		block, rest, _ = strings.Cut(rest, "```")
		blocks = append(blocks, block)
	}
	if len(blocks) < 2 {
		t.Fatalf("docs/deploy.md: got %d yaml blocks, want the full example and the trunk fragment", len(blocks))
	}
	for i, block := range blocks {
		c, err := Parse([]byte(block))
		if err != nil {
			t.Fatalf("docs/deploy.md yaml block %d: %v", i+1, err)
		}
		if i == 0 && (!c.HTTP.TLS.On() || c.WebRTC.PublicIP == "") {
			t.Errorf("docs/deploy.md configuration: got TLS %v, public IP %q; want HTTPS and a public IP", c.HTTP.TLS.On(), c.WebRTC.PublicIP)
		}
	}
}
