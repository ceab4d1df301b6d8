package sfu

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkUDPSend offers 160-byte datagrams (an Opus frame with SRTP) at
// a steady 250,000 a second from 8 goroutines, in bursts every millisecond
// as an SFU fans a frame out, to 64 loopback sockets, through a plain
// socket and through a batchConn, writers sending or only its flusher
// (-benchtime 250000x is one second). It
// reports the CPU time of the whole process per datagram and its inverse,
// datagrams per second per core. The sinks are not read: the kernel drops
// what overflows their buffers, after delivering it.
func BenchmarkUDPSend(b *testing.B) {
	b.Run("plain", func(b *testing.B) {
		c := listenLoopback(b)
		defer c.Close()
		benchSend(b, func(p []byte, to netip.AddrPort) { _, _ = c.WriteToUDPAddrPort(p, to) }, nil)
	})
	for _, combine := range []bool{true, false} {
		name := "batch-writers-send"
		if !combine {
			name = "batch-flusher-only"
		}
		b.Run(name, func(b *testing.B) {
			bc := newBatchConnOpts(listenLoopback(b), batchFlushers, 0, combine, false)
			defer bc.Close()
			benchSend(b, func(p []byte, to netip.AddrPort) { _, _ = bc.WriteToAddrPort(p, to) }, bc)
		})
	}
}

func benchSend(b *testing.B, send func([]byte, netip.AddrPort), bc *batchConn) {
	const rate, writers, tick = 250_000, 8, time.Millisecond
	var sinks []netip.AddrPort
	for range 64 {
		s := listenLoopback(b)
		defer s.Close()
		sinks = append(sinks, addrPort(s))
	}
	payload := make([]byte, 160)
	perTick := max(1, rate/writers/int(time.Second/tick))
	var wg sync.WaitGroup
	var left atomic.Int64
	left.Store(int64(b.N))
	usr0, sys0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 1; ; k++ {
				for i := range perTick {
					if left.Add(-1) < 0 {
						return
					}
					send(payload, sinks[(w*perTick+i)%len(sinks)])
				}
				time.Sleep(time.Until(start.Add(time.Duration(k) * tick)))
			}
		}()
	}
	wg.Wait()
	if bc != nil {
		// What is still queued belongs to the run.
		deadline := time.Now().Add(10 * time.Second)
		for st := bc.Stats(); st.Sent+st.Dropped+st.Errors < uint64(b.N) && time.Now().Before(deadline); st = bc.Stats() {
			time.Sleep(100 * time.Microsecond)
		}
	}
	b.StopTimer()
	usr1, sys1 := cpuTime()
	perPkt := float64(usr1-usr0+sys1-sys0) / float64(b.N)
	b.ReportMetric(perPkt, "cpu-ns/pkt")
	b.ReportMetric(float64(usr1-usr0)/float64(b.N), "user-ns/pkt")
	b.ReportMetric(float64(sys1-sys0)/float64(b.N), "sys-ns/pkt")
	b.ReportMetric(1e9/perPkt, "pkts/s/core")
	if bc != nil {
		st := bc.Stats()
		b.ReportMetric(float64(st.Dropped)/float64(b.N), "dropped/pkt")
		if st.Batches > 0 {
			b.ReportMetric(float64(st.Sent)/float64(st.Batches), "pkts/call")
		}
	}
}

// cpuTime returns the process's user and system CPU time.
func cpuTime() (user, sys time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
