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

// freeMediaPorts returns a loopback port p such that p to p+3 were free
// for UDP a moment ago (sipp binds RTP and RTCP for audio and video there).
func freeMediaPorts(t *testing.T) int {
	t.Helper()
	for range 50 {
		p := freeUDPPort(t)
		if p%2 == 1 || p > 65532 {
			continue
		}
		ok := true
		var held []net.PacketConn
		for i := 1; i < 4; i++ {
			c, err := net.ListenPacket("udp4", "127.0.0.1:"+itoa(p+i))
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no four free consecutive UDP ports")
	return 0
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
