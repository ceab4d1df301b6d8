package config

import (
	"strings"
	"testing"
	"time"
)

func TestWebRTCTransportConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want string // "" = valid
	}{
		{"defaults", "", ""},
		{"one udp port and tcp", "webrtc: {udp_port: 50000, tcp_port: 50000}", ""},
		{"udp port and range", "webrtc: {udp_port: 50000, udp_port_min: 50000, udp_port_max: 50100}", "webrtc.udp_port: set either"},
		{"bad tcp port", "webrtc: {tcp_port: 70000}", "webrtc.tcp_port"},
		{"embedded turn", "webrtc: {turn: {enabled: true, public_ip: 198.51.100.4, relay_port_min: 49160, relay_port_max: 49200}}", ""},
		{"embedded turn, webrtc public ip", "webrtc: {public_ip: 198.51.100.4, turn: {enabled: true}}", ""},
		{"embedded turn, listen ip", "webrtc: {turn: {enabled: true, listen: '198.51.100.4:3478'}}", ""},
		{"embedded turn without address", "webrtc: {turn: {enabled: true}}", "webrtc.turn.public_ip: needed"},
		{"relay range reversed", "webrtc: {turn: {enabled: true, public_ip: 198.51.100.4, relay_port_min: 5, relay_port_max: 4}}", "relay_port_min"},
		{"relay range half", "webrtc: {turn: {enabled: true, public_ip: 198.51.100.4, relay_port_min: 5}}", "relay_port_max"},
		{"external turn", "webrtc: {turn: {urls: ['turn:turn.example.org:3478?transport=udp'], secret: s3cret}}", ""},
		{"external without secret", "webrtc: {turn: {urls: ['turn:turn.example.org']}}", "webrtc.turn.secret"},
		{"stun url", "webrtc: {turn: {urls: ['stun:stun.example.org'], secret: s}}", "must start with turn:"},
		{"both", "webrtc: {turn: {enabled: true, public_ip: 198.51.100.4, urls: ['turn:x'], secret: s}}", "excludes"},
		{"short ttl", "webrtc: {turn: {urls: ['turn:x'], secret: s, credential_ttl: 10s}}", "credential_ttl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestTURNDefaults(t *testing.T) {
	c, err := Parse([]byte("webrtc: {turn: {enabled: true, public_ip: 198.51.100.4}}"))
	if err != nil {
		t.Fatal(err)
	}
	got := c.WebRTC.TURN
	if got.Listen != ":3478" || got.Realm != "dialroom" || got.CredentialTTL != 12*time.Hour {
		t.Errorf("got listen %q realm %q ttl %v, want :3478, dialroom, 12h", got.Listen, got.Realm, got.CredentialTTL)
	}
	if !got.On() || Default().WebRTC.TURN.On() {
		t.Errorf("On: got %v for enabled, %v for the default; want true, false", got.On(), Default().WebRTC.TURN.On())
	}
}
