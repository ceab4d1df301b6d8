package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckFile(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the problems, in order
	}{
		{"example is valid", "", nil},
		{"two sections wrong", "log:\n  level: loud\nsip:\n  rtp_port_min: 20000\n  rtp_port_max: 10000\n",
			[]string{"log.level:", "sip.rtp_port_min:"}},
		{"unknown keys", "htp:\n  listen: x\nlogg: 1\n", []string{"line 1: field htp not found", "line 3: field logg not found"}},
		{"tls half set", "http:\n  tls:\n    cert_file: /x.pem\n", []string{"http.tls.cert_file:"}},
		{"bad proxy and grace", "http:\n  trusted_proxies: [nginx]\nshutdown:\n  grace: -1s\n", []string{"http.trusted_proxies[0]:", "shutdown.grace:"}},
		{"bad yaml", "log: [\n", []string{"yaml:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if tt.name == "example is valid" {
				path = "../dialroom.example.yaml"
			} else if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			got := CheckFile(path)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems %v, want %d %v", len(got), got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i].Error(), w) {
					t.Errorf("problem %d: got %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
