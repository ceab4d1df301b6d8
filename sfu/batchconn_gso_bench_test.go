package sfu

import (
	"fmt"
	"net/netip"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// BenchmarkUDPGSO measures the kernel's cost per datagram of the sending
// side over loopback, where sendto also pays for the delivery to the
// receiving socket and the wakeup of its reader: one sendto per 160-byte
// datagram (an SRTP Opus packet) against one sendmsg carrying k datagrams
// of that size to the same destination with UDP_SEGMENT (Linux GSO,
// 4.18+). GSO needs segments of one size (the last may be shorter), so an
// SFU would have to pad (RTP padding) a subscriber's packets of one 20 ms
// round to a common size to use it. Every destination has a reader. The
// metrics are the sending thread's CPU time per datagram (sys-ns/pkt is
// the kernel's part) and the share of datagrams the readers got.
//
//	go test -run '^$' -bench UDPGSO -benchtime 500000x ./sfu/
func BenchmarkUDPGSO(b *testing.B) {
	for _, k := range []int{1, 8, 16, 48} {
		name := "sendto"
		if k > 1 {
			name = fmt.Sprintf("gso-%d", k)
		}
		b.Run(name, func(b *testing.B) { benchGSO(b, k) })
	}
}

func benchGSO(b *testing.B, k int) {
	const size, sinks = 160, 16
	c := listenLoopback(b)
	defer c.Close()
	var got atomic.Int64
	var dst []netip.AddrPort
	for range sinks {
		s := listenLoopback(b)
		defer s.Close()
		dst = append(dst, addrPort(s))
		go func() {
			buf := make([]byte, 2048)
			for {
				if _, _, err := s.ReadFromUDPAddrPort(buf); err != nil {
					return
				}
				got.Add(1)
			}
		}()
	}
	buf := make([]byte, k*size)
	var oob []byte
	if k > 1 {
		oob = make([]byte, syscall.CmsgSpace(2))
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		h.Level = syscall.IPPROTO_UDP
		h.Type = 103 // UDP_SEGMENT
		h.SetLen(syscall.CmsgLen(2))
		*(*uint16)(unsafe.Pointer(&oob[syscall.CmsgLen(0)])) = size
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	u0, s0 := threadCPU()
	b.ResetTimer()
	sent := 0
	for i := 0; sent < b.N; i++ {
		to := dst[i%sinks]
		if k == 1 {
			_, _ = c.WriteToUDPAddrPort(buf, to)
		} else if _, _, err := c.WriteMsgUDPAddrPort(buf, oob, to); err != nil {
			b.Fatalf("UDP_SEGMENT (Linux 4.18+): %v", err)
		}
		sent += k
		if i%sinks == sinks-1 && int64(sent)-got.Load() > 4096 {
			// Let the readers catch up, as a paced sender would.
			deadline := time.Now().Add(time.Second)
			for int64(sent)-got.Load() > 1024 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Microsecond) // polling the readers' counter
			}
		}
	}
	b.StopTimer()
	u1, s1 := threadCPU()
	b.ReportMetric(float64(u1-u0+s1-s0)/float64(sent), "cpu-ns/pkt")
	b.ReportMetric(float64(s1-s0)/float64(sent), "sys-ns/pkt")
	deadline := time.Now().Add(time.Second)
	for got.Load() < int64(sent) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // polling the readers' counter
	}
	b.ReportMetric(float64(got.Load())/float64(sent), "received")
	b.ReportMetric(0, "ns/op")
}
