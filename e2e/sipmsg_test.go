package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// optionsRequest is a minimal OPTIONS; sipUDP fills in the {placeholders}.
const optionsRequest = "OPTIONS sip:{target} SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP {local};branch=z9hG4bK{rand};rport\r\n" +
	"Max-Forwards: 70\r\n" +
	"From: <sip:e2e@{local}>;tag={rand}\r\n" +
	"To: <sip:{target}>\r\n" +
	"Call-ID: {rand}@127.0.0.1\r\n" +
	"CSeq: 1 OPTIONS\r\n" +
	"Content-Length: 0\r\n\r\n"

// sipUDP sends the request template to addr from a fresh loopback UDP socket,
// resending every 500 ms (RFC 3261 timer E, roughly) until a final response
// arrives or timeout passes, and returns its status code and text. In the
// template {target} becomes addr, {local} the socket's address and {rand} a
// fresh random token.
func sipUDP(ctx context.Context, addr, template string, timeout time.Duration) (int, string, error) {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	dst, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return 0, "", err
	}
	msg := fillTemplate(template, addr, conn.LocalAddr().String())
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	buf := make([]byte, 65535)
	for time.Now().Before(deadline) {
		if _, err := conn.WriteTo([]byte(msg), dst); err != nil {
			return 0, "", err
		}
		next := time.Now().Add(500 * time.Millisecond)
		if deadline.Before(next) {
			next = deadline
		}
		if err := conn.SetReadDeadline(next); err != nil {
			return 0, "", err
		}
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // resend
				}
				return 0, "", err
			}
			code, err := statusCode(string(buf[:n]))
			if err != nil {
				return 0, string(buf[:n]), err
			}
			if code >= 200 {
				return code, string(buf[:n]), nil
			}
		}
	}
	return 0, "", fmt.Errorf("no final response from %s within %v", addr, timeout)
}

// statusCode parses the status line of a SIP response.
func statusCode(resp string) (int, error) {
	line, _, _ := strings.Cut(resp, "\r\n")
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "SIP/2.0" {
		return 0, fmt.Errorf("not a SIP response: %q", line)
	}
	return strconv.Atoi(f[1])
}

// fillTemplate replaces the placeholders of a request template.
func fillTemplate(template, target, local string) string {
	s := strings.ReplaceAll(template, "{target}", target)
	s = strings.ReplaceAll(s, "{local}", local)
	for strings.Contains(s, "{rand}") {
		s = strings.Replace(s, "{rand}", randToken(), 1)
	}
	return s
}

// randToken returns 16 random hex digits.
func randToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
