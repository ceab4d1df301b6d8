package loadtest

import (
	"net"
	"testing"
	"time"
)

// TestStampedReaderGivesArrival: a datagram that waited in the socket is
// stamped with its arrival, not with when it was read, so the emulated line
// queues it from there.
func TestStampedReaderGivesArrival(t *testing.T) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	r := newStampedReader(rx)
	if !r.on {
		t.Fatal("SO_TIMESTAMPNS: the kernel refused to stamp datagrams")
	}
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	// The kernel switches its receive stamps on a moment after the first
	// socket asks (deferred work); until then it stamps at read time. So
	// try again until a stamp is the arrival, for at most 2 s.
	const wait = 50 * time.Millisecond
	buf := make([]byte, 64)
	deadline := time.Now().Add(2 * time.Second)
	for {
		before := time.Now()
		if _, err := tx.Write([]byte("stamp me")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(wait) // the datagram ages in the socket: a busy reader, not a stand-in for an event
		readAt := time.Now()
		n, from, at, err := r.read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != "stamp me" || from == nil {
			t.Fatalf("read %q from %v, want the datagram and its sender", buf[:n], from)
		}
		if at.Before(before.Add(-time.Millisecond)) {
			t.Fatalf("stamp %v before the send, want after it", before.Sub(at))
		}
		if readAt.Sub(at) >= wait-5*time.Millisecond {
			return // stamped on arrival
		}
		if time.Now().After(deadline) {
			t.Fatalf("stamp %v after the send, read %v after it: want the arrival, about 0 after the send",
				at.Sub(before), readAt.Sub(before))
		}
	}
}

func TestKernelStampWithoutMessage(t *testing.T) {
	now := time.Now()
	if got := kernelStamp(nil, now); !got.Equal(now) {
		t.Errorf("no control message: got %v, want now", got)
	}
}
