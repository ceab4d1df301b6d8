package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Validate checks every key and returns the first problem, naming the key,
// e.g. "sip.rtp_port_min: must be below sip.rtp_port_max".
func (c Config) Validate() error {
	for _, check := range c.checks() {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// checks lists the validation of every section; each returns its first
// problem. Problems (check-config) runs them all.
func (c Config) checks() []func() error {
	return []func() error{
		c.validateLog,
		c.validateHTTP,
		c.validateSIP,
		c.validateWebRTC,
		c.validateTransport,
		c.validateDemo,
		c.validateTLS,
		c.validateProxies,
		c.validateShutdown,
		c.validateMixer,
		c.validateAuth,
		c.SIP.RateLimit.Validate,
		c.Privacy.Validate,
		c.SIP.TLS.validate,
	}
}

func (c Config) validateLog() error {
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return fmt.Errorf("log.format: %q is not one of text, json", c.Log.Format)
	}
	return nil
}

func (c Config) validateHTTP() error {
	if err := checkAddr(c.HTTP.Listen); err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	if u := c.HTTP.PublicURL; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return fmt.Errorf("http.public_url: %q must start with http:// or https://", u)
	}
	return nil
}

func (c Config) validateSIP() error {
	s := c.SIP
	if err := checkAddr(s.Listen); err != nil {
		return fmt.Errorf("sip.listen: %w", err)
	}
	if err := checkIP(s.MediaIP); err != nil {
		return fmt.Errorf("sip.media_ip: %w", err)
	}
	if err := checkPort(s.RTPPortMin); err != nil {
		return fmt.Errorf("sip.rtp_port_min: %w", err)
	}
	if err := checkPort(s.RTPPortMax); err != nil {
		return fmt.Errorf("sip.rtp_port_max: %w", err)
	}
	if s.RTPPortMin >= s.RTPPortMax {
		return fmt.Errorf("sip.rtp_port_min: must be below sip.rtp_port_max")
	}
	if s.RTPTimeout < time.Second {
		return fmt.Errorf("sip.rtp_timeout: %v must be at least 1s", s.RTPTimeout)
	}
	if s.MaxCalls < 0 {
		return fmt.Errorf("sip.max_calls: %d must not be negative", s.MaxCalls)
	}
	return validateTrunks(s.Trunks)
}

func (c Config) validateWebRTC() error {
	w := c.WebRTC
	for i, ip := range w.ICEIPs {
		if err := checkIP(ip); err != nil || ip == "" {
			return fmt.Errorf("webrtc.ice_ips[%d]: %q is not an IP address", i, ip)
		}
	}
	for i, name := range w.ICEInterfaces {
		if name == "" {
			return fmt.Errorf("webrtc.ice_interfaces[%d]: empty interface name", i)
		}
	}
	if err := checkIP(w.PublicIP); err != nil {
		return fmt.Errorf("webrtc.public_ip: %w", err)
	}
	if w.UDPPortMin == 0 && w.UDPPortMax == 0 {
		return nil
	}
	if err := checkPort(w.UDPPortMin); err != nil {
		return fmt.Errorf("webrtc.udp_port_min: %w", err)
	}
	if err := checkPort(w.UDPPortMax); err != nil {
		return fmt.Errorf("webrtc.udp_port_max: %w", err)
	}
	if w.UDPPortMin > w.UDPPortMax {
		return fmt.Errorf("webrtc.udp_port_min: must not be above webrtc.udp_port_max")
	}
	return nil
}

func (c Config) validateDemo() error {
	if !c.Demo.On() {
		return nil
	}
	for _, r := range c.Demo.Room {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("demo.room: %q may contain only a-z, 0-9 and -", c.Demo.Room)
		}
	}
	if len(c.Demo.Room) > 64 {
		return fmt.Errorf("demo.room: longer than 64 characters")
	}
	if !strings.HasPrefix(c.Demo.Number, "+") {
		return fmt.Errorf("demo.number: %q must be in E.164 form, e.g. +4930123456", c.Demo.Number)
	}
	return nil
}

// checkAddr accepts "host:port" and ":port" with a numeric port (0 allowed).
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has no valid port number", addr)
	}
	return nil
}

// checkIP accepts "" or a literal IP address.
func checkIP(ip string) error {
	if ip != "" && net.ParseIP(ip) == nil {
		return fmt.Errorf("%q is not an IP address", ip)
	}
	return nil
}

func checkPort(p int) error {
	if p < 1 || p > 65535 {
		return fmt.Errorf("%d is not a port (1-65535)", p)
	}
	return nil
}
