package main

import (
	"fmt"
	"net"
	"os"
)

// sdNotify sends state (e.g. "READY=1", "STOPPING=1") to systemd's
// notification socket when the service runs with Type=notify; without
// NOTIFY_SOCKET it does nothing. The protocol is one datagram on a unix
// socket (sd_notify(3)); "@" starts an abstract socket name.
func sdNotify(state string) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}
