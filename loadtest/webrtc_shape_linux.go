package loadtest

import (
	"net"
	"syscall"
	"time"
	"unsafe"
)

// stampedReader reads datagrams with the time the kernel received them
// (SO_TIMESTAMPNS), so that a line emulated in user space queues each
// packet from its real arrival even when this process reads it late.
type stampedReader struct {
	conn *net.UDPConn
	oob  []byte
	on   bool // the kernel stamps datagrams
}

func newStampedReader(c *net.UDPConn) *stampedReader {
	r := &stampedReader{conn: c, oob: make([]byte, syscall.CmsgSpace(int(unsafe.Sizeof(syscall.Timespec{}))))}
	if rc, err := c.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			r.on = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1) == nil
		})
	}
	return r
}

// read reads one datagram into b and returns its arrival time: the
// kernel's stamp, or now when there is none.
func (r *stampedReader) read(b []byte) (int, net.Addr, time.Time, error) {
	if !r.on {
		n, from, err := r.conn.ReadFrom(b)
		return n, from, time.Now(), err
	}
	n, oobn, _, from, err := r.conn.ReadMsgUDP(b, r.oob)
	now := time.Now()
	if err != nil {
		return n, nil, now, err
	}
	return n, from, kernelStamp(r.oob[:oobn], now), nil
}

// kernelStamp finds the SCM_TIMESTAMPNS control message in oob; it returns
// now if there is none or it is not in the past.
func kernelStamp(oob []byte, now time.Time) time.Time {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return now
	}
	for _, m := range msgs {
		if m.Header.Level != syscall.SOL_SOCKET || m.Header.Type != syscall.SCM_TIMESTAMPNS ||
			len(m.Data) < int(unsafe.Sizeof(syscall.Timespec{})) {
			continue
		}
		ts := *(*syscall.Timespec)(unsafe.Pointer(&m.Data[0]))
		at := time.Unix(ts.Unix())
		if ts.Sec == 0 || at.After(now) {
			return now
		}
		// Keep the monotonic reading: the line's arithmetic then does not
		// follow wall-clock steps.
		return now.Add(-now.Sub(at))
	}
	return now
}
