//go:build !linux

package loadtest

import (
	"net"
	"time"
)

// stampedReader reads datagrams with their arrival time; without kernel
// stamps that is the time they are read.
type stampedReader struct{ conn *net.UDPConn }

func newStampedReader(c *net.UDPConn) *stampedReader { return &stampedReader{conn: c} }

func (r *stampedReader) read(b []byte) (int, net.Addr, time.Time, error) {
	n, from, err := r.conn.ReadFrom(b)
	return n, from, time.Now(), err
}
