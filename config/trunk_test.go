package config

import (
	"strings"
	"testing"
)

func TestTrunkConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string // substring; "" means valid
	}{
		{"ip trunk", "sip:\n  trunks:\n    - name: carrier\n      sources: [192.0.2.0/28, 198.51.100.7, \"2001:db8::/64\"]\n", ""},
		{"digest trunk", "sip:\n  trunks:\n    - {name: pbx, username: u, password: p}\n", ""},
		{"no name", "sip:\n  trunks:\n    - sources: [192.0.2.1]\n", "sip.trunks[0].name"},
		{"reserved name", "sip:\n  trunks:\n    - {name: loopback, sources: [192.0.2.1]}\n", "reserved"},
		{"duplicate", "sip:\n  trunks:\n    - {name: a, sources: [192.0.2.1]}\n    - {name: a, sources: [192.0.2.2]}\n", "used twice"},
		{"nothing to match", "sip:\n  trunks:\n    - {name: a}\n", "needs sources"},
		{"registration trunk", "sip:\n  trunks:\n    - name: reg\n      register: {registrar: \"sip.carrier.example:5060\", username: u, password: p, expires: 10m}\n", ""},
		{"registration without password", "sip:\n  trunks:\n    - name: reg\n      register: {registrar: sip.carrier.example, username: u}\n", "register"},
		{"user without password", "sip:\n  trunks:\n    - {name: a, username: u}\n", "password"},
		{"bad source", "sip:\n  trunks:\n    - {name: a, sources: [carrier.example]}\n", "sip.trunks[0].sources"},
		{"max duration", "sip:\n  trunks:\n    - {name: a, sources: [192.0.2.1], max_duration: 4h}\n", ""},
		{"negative max duration", "sip:\n  trunks:\n    - {name: a, sources: [192.0.2.1], max_duration: -1m}\n", "sip.trunks[0].max_duration"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.yaml))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: got error %v, want none", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: got error %v, want one containing %q", tt.name, err, tt.wantErr)
		}
	}
	c, err := Parse([]byte("sip:\n  trust_loopback: false\n"))
	if err != nil || c.SIP.LoopbackTrusted() {
		t.Errorf("trust_loopback false: got trusted=%v (%v), want false", c.SIP.LoopbackTrusted(), err)
	}
	if !Default().SIP.LoopbackTrusted() {
		t.Errorf("default: loopback not trusted, want trusted")
	}
}

func TestTrunkSources(t *testing.T) {
	got, err := TrunkSources([]string{"192.0.2.9/28", "::ffff:10.0.0.1", "2001:db8::1"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"192.0.2.0/28", "10.0.0.1/32", "2001:db8::1/128"}
	for i, p := range got {
		if p.String() != want[i] {
			t.Errorf("source %d: got %s, want %s", i, p, want[i])
		}
	}
}
