package e2e

import (
	"math/rand/v2"
	"net"
	"testing"
)

// freeUDPPort returns a loopback port that was free for UDP a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free udp port: %v", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// freeTCPPort returns a loopback port that was free for TCP a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free tcp port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freeSIPPort returns a loopback port free for both UDP and TCP, since a SIP
// server may listen on both.
func freeSIPPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		p := freeUDPPort(t)
		l, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", itoa(p)))
		if err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no port free for both UDP and TCP")
	return 0
}

// rtpPortBase returns the first of 100 ports for the server's RTP range. It lies
// in 10000-29999, below Linux's ephemeral range (32768-60999) that port 0 hands
// out to sipp and the browser, so the two cannot collide.
func rtpPortBase() int {
	return 10000 + rand.IntN(200)*100
}
