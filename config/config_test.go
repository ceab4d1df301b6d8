package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadEmptyPathIsDefault(t *testing.T) {
	got, err := Load("")
	if err != nil {
		t.Fatalf("Load(\"\"): %v", err)
	}
	if !reflect.DeepEqual(got, Default()) {
		t.Errorf("got %+v, want %+v", got, Default())
	}
}

func TestExampleFileIsDefault(t *testing.T) {
	got, err := Load(filepath.Join("..", "dialroom.example.yaml"))
	if err != nil {
		t.Fatalf("Load example: %v", err)
	}
	if !reflect.DeepEqual(got, Default()) {
		t.Errorf("got %+v, want %+v", got, Default())
	}
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v, want nil", err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(Config) bool
	}{
		{"empty", "", func(c Config) bool { return reflect.DeepEqual(c, Default()) }},
		{"zero values are defaults", "sip: {rtp_port_min: 0, rtp_timeout: 0s}\nlog: {level: \"\"}",
			func(c Config) bool { return reflect.DeepEqual(c, Default()) }},
		{"override", "data_dir: /srv/d\nsip: {rtp_port_min: 20000, rtp_port_max: 20100, rtp_timeout: 5s}",
			func(c Config) bool {
				return c.DataDir == "/srv/d" && c.SIP.RTPPortMin == 20000 &&
					c.SIP.RTPPortMax == 20100 && c.SIP.RTPTimeout == 5*time.Second && c.HTTP.Listen == ":8080"
			}},
		{"demo off", "demo: {enabled: false}", func(c Config) bool { return !c.Demo.On() && c.Demo.Room == "demo" }},
		{"ice loopback", "webrtc: {ice_ips: [127.0.0.1, \"::1\"], udp_port_min: 5000, udp_port_max: 5000}",
			func(c Config) bool {
				return reflect.DeepEqual(c.WebRTC.ICEIPs, []string{"127.0.0.1", "::1"}) && c.WebRTC.UDPPortMin == 5000
			}},
		{"json log", "log: {level: debug, format: json}", func(c Config) bool { return c.Log.Level == "debug" && c.Log.Format == "json" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: got error %v, want nil", err)
			}
			if !tt.check(got) {
				t.Errorf("got %+v, which fails the check", got)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		yaml string
		want string // substring of the error
	}{
		{"bogus: 1", "bogus"},
		{"sip: {bogus: 1}", "bogus"},
		{"sip: {rtp_port_min: 11000}", "sip.rtp_port_min: must be below sip.rtp_port_max"},
		{"sip: {rtp_port_max: 70000}", "sip.rtp_port_max"},
		{"sip: {rtp_timeout: 10ms}", "sip.rtp_timeout"},
		{"sip: {rtp_timeout: soon}", "line 1"},
		{"sip: {listen: nope}", "sip.listen"},
		{"sip: {media_ip: 1.2.3}", "sip.media_ip"},
		{"http: {listen: \":x\"}", "http.listen"},
		{"http: {public_url: ftp://x}", "http.public_url"},
		{"log: {level: loud}", "log.level"},
		{"log: {format: xml}", "log.format"},
		{"webrtc: {ice_ips: [localhost]}", "webrtc.ice_ips[0]"},
		{"webrtc: {ice_interfaces: [\"\"]}", "webrtc.ice_interfaces[0]"},
		{"webrtc: {public_ip: x}", "webrtc.public_ip"},
		{"webrtc: {udp_port_min: 6000, udp_port_max: 5000}", "webrtc.udp_port_min"},
		{"webrtc: {udp_port_min: 6000}", "webrtc.udp_port_max"},
		{"demo: {room: Demo}", "demo.room"},
		{"demo: {number: \"030123\"}", "demo.number"},
		{"[1, 2]", "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Errorf("missing file: got nil error, want one")
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("sip: {rtp_port_min: 20000}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(bad)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml") || !strings.Contains(err.Error(), "sip.rtp_port_min") {
		t.Errorf("got error %v, want one naming the file and the key", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "sip: {rtp_port_min: 1, rtp_port_max: 2}", "demo: {enabled: false}",
		"webrtc: {ice_ips: [127.0.0.1]}", "log: {level: debug}", "a: [", "\t"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Parse returned a config that fails Validate: %v", err)
		}
		if c.SIP.RTPPortMin >= c.SIP.RTPPortMax {
			t.Errorf("got rtp range %d-%d, want min < max", c.SIP.RTPPortMin, c.SIP.RTPPortMax)
		}
	})
}
