package loadtest

import (
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// shapedConn is a participant's UDP socket behind a downlink of a fixed
// rate: what arrives leaves the "line" no faster than the rate allows, in
// order, and what would wait longer than maxQueue in the line's buffer is
// dropped (a tail-drop bottleneck, like tc's tbf on a home router). The
// server sees the queueing delay in its transport-wide congestion control
// feedback and the drops as loss, as it would from a real thin line.
// Sending is not shaped.
//
// Each packet enters the line when the kernel received it (not when this
// process got round to reading it), so a busy load tool delays packets but
// does not make its line drop them; how late it delivered them is counted
// (lateness), so that the report shows when the tool, not the server, held
// packets back.
type shapedConn struct {
	conn        *net.UDPConn // not embedded: its ReadFromAddrPort would bypass the line
	rd          *stampedReader
	bytesPerSec float64
	maxQueue    time.Duration
	q           chan shapedPacket
	bufs        sync.Pool             // *[shapedMTU]byte, from the reader to ReadFrom and back
	err         atomic.Pointer[error] // why the socket reader stopped

	dropped, droppedBytes atomic.Uint64
	passed, passedBytes   atomic.Uint64
	late, lateSum         atomic.Uint64 // packets delivered over shapedLate after their due time, and all lateness in ns
	lateMax               atomic.Int64  // the most late a packet was delivered, ns
	base                  [6]uint64     // the counters at mark
}

// shapedLate is how late a delivery counts as late: a few scheduler ticks.
const shapedLate = 5 * time.Millisecond

// shapedMTU is the largest datagram the line carries.
const shapedMTU = 1600

// shapedPacket is a datagram in the line and when it leaves it.
type shapedPacket struct {
	buf  *[shapedMTU]byte
	n    int
	from net.Addr
	due  time.Time
}

// shapedQueueLen bounds the queue in packets (maxQueue bounds it in time).
const shapedQueueLen = 4096

// newShapedConn shapes what c receives to kbps kilobits per second, with a
// buffer of maxQueue at that rate.
func newShapedConn(c *net.UDPConn, kbps int, maxQueue time.Duration) *shapedConn {
	s := &shapedConn{conn: c, rd: newStampedReader(c), bytesPerSec: float64(kbps) * 1000 / 8, maxQueue: maxQueue,
		q: make(chan shapedPacket, shapedQueueLen)}
	go s.reader()
	return s
}

// wireOverhead is what IPv4 and UDP headers add to each datagram on a line.
const wireOverhead = 28

// reader takes datagrams off the socket and puts them in the line, each
// due when the line has finished sending the ones before it, counted from
// the datagram's arrival.
func (s *shapedConn) reader() {
	defer close(s.q)
	var free time.Time // when the line has sent everything queued
	for {
		buf, _ := s.bufs.Get().(*[shapedMTU]byte)
		if buf == nil {
			buf = new([shapedMTU]byte)
		}
		n, from, now, err := s.rd.read(buf[:])
		if err != nil {
			s.err.Store(&err)
			return
		}
		if free.Before(now) {
			free = now
		}
		if free.Sub(now) > s.maxQueue || len(s.q) == cap(s.q) {
			s.dropped.Add(1)
			s.droppedBytes.Add(uint64(n))
			s.bufs.Put(buf)
			continue
		}
		free = free.Add(time.Duration(float64(n+wireOverhead) / s.bytesPerSec * float64(time.Second)))
		s.q <- shapedPacket{buf: buf, n: n, from: from, due: free}
	}
}

// ReadFrom returns the next datagram once the line has delivered it.
func (s *shapedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	p, ok := <-s.q
	if !ok {
		if e := s.err.Load(); e != nil {
			return 0, nil, *e
		}
		return 0, nil, net.ErrClosed
	}
	now := time.Now()
	if d := p.due.Sub(now); d > 0 {
		time.Sleep(d) // the line's serialisation delay, not a stand-in for an event
		now = time.Now()
	}
	if late := now.Sub(p.due); late > 0 {
		s.lateSum.Add(uint64(late))
		if late > shapedLate {
			s.late.Add(1)
		}
		for {
			m := s.lateMax.Load()
			if int64(late) <= m || s.lateMax.CompareAndSwap(m, int64(late)) {
				break
			}
		}
	}
	s.passed.Add(1)
	s.passedBytes.Add(uint64(p.n))
	n := copy(b, p.buf[:p.n])
	s.bufs.Put(p.buf)
	return n, p.from, nil
}

// SetReadDeadline is not passed on: the reader goroutine owns the socket's
// reads. The ICE mux that reads from this conn does not use deadlines.
func (s *shapedConn) SetReadDeadline(time.Time) error { return nil }

// SetDeadline sets only the write deadline, see SetReadDeadline.
func (s *shapedConn) SetDeadline(t time.Time) error { return s.conn.SetWriteDeadline(t) }

func (s *shapedConn) SetWriteDeadline(t time.Time) error { return s.conn.SetWriteDeadline(t) }

func (s *shapedConn) WriteTo(b []byte, to net.Addr) (int, error) { return s.conn.WriteTo(b, to) }

func (s *shapedConn) LocalAddr() net.Addr { return s.conn.LocalAddr() }

func (s *shapedConn) Close() error { return s.conn.Close() }

// mark starts a new measurement window for the line's counters.
func (s *shapedConn) mark() {
	s.base = [6]uint64{s.passed.Load(), s.passedBytes.Load(), s.dropped.Load(), s.droppedBytes.Load(), s.late.Load(), s.lateSum.Load()}
	s.lateMax.Store(0)
}

// lateness returns, since mark, how many packets the line delivered more
// than shapedLate after their due time, their mean lateness over all
// packets, and the most late one.
func (s *shapedConn) lateness() (late uint64, mean, most time.Duration) {
	late = s.late.Load() - s.base[4]
	if n := s.passed.Load() - s.base[0]; n > 0 {
		mean = time.Duration((s.lateSum.Load() - s.base[5]) / n)
	}
	return late, mean, time.Duration(s.lateMax.Load())
}

// counts returns the line's packets and bytes passed and dropped since mark.
func (s *shapedConn) counts() (passed, passedBytes, dropped uint64) {
	return s.passed.Load() - s.base[0], s.passedBytes.Load() - s.base[1], s.dropped.Load() - s.base[2]
}

// cappedReport is what one capped subscriber received in the window.
type cappedReport struct {
	n               int
	t               rtcTotals
	passed, dropped uint64                   // packets through the line, and dropped by it
	late            uint64                   // packets the tool delivered over shapedLate late
	lateMean        time.Duration            // mean lateness of all packets through the line
	lateMax         time.Duration            // the latest one
	lineBytes       uint64                   // UDP payload bytes through the line (media, RTCP, ICE, padding)
	speaker         map[string]time.Duration // time at each layer of the speaker's video ("" none, "?" before any layers message)
	tiles           map[string]int           // the other tiles' layers at the end
}

// cappedReport sums up what this capped participant received between start
// and end.
func (p *rtcPeer) cappedReport(start, end time.Time) cappedReport {
	r := cappedReport{n: p.n, t: p.totals(), speaker: map[string]time.Duration{}, tiles: map[string]int{}}
	r.passed, r.lineBytes, r.dropped = p.sc.counts()
	r.late, r.lateMean, r.lateMax = p.sc.lateness()
	p.mu.Lock()
	defer p.mu.Unlock()
	cur, at := "?", start
	for _, c := range p.spLayer {
		if c.at.After(start) {
			if c.at.After(end) {
				break
			}
			r.speaker[cur] += c.at.Sub(at)
			at = c.at
		}
		cur = c.layer
	}
	r.speaker[cur] += end.Sub(at)
	for id, l := range p.layers {
		if id != p.speaker {
			r.tiles[l]++
		}
	}
	return r
}

// write prints one capped subscriber's lines of the report.
func (r cappedReport) write(w io.Writer, kbps int, secs float64) {
	t := r.t
	loss := func(exp, got uint64) float64 {
		if exp == 0 {
			return 0
		}
		return 100 * (1 - float64(got)/float64(exp))
	}
	fmt.Fprintf(w, "capped %d:    line %d kbit/s: received %.0f kbit/s (video %.0f, audio %.0f); %d audio + %d video streams; loss audio %.3f %%, video %.3f %% (after retransmissions); the line carried %.0f kbit/s of UDP payload and dropped %d of %d packets\n",
		r.n, kbps, float64(t.audioBytes+t.videoBytes)*8/secs/1000, float64(t.videoBytes)*8/secs/1000, float64(t.audioBytes)*8/secs/1000,
		t.audioStreams, t.videoStreams, loss(t.expected-t.videoExpected, t.received-t.videoRecv), loss(t.videoExpected, t.videoRecv),
		float64(r.lineBytes)*8/secs/1000, r.dropped, r.passed+r.dropped)
	var total time.Duration
	for _, d := range r.speaker {
		total += d
	}
	var parts []string
	for _, l := range slices.Sorted(maps.Keys(r.speaker)) {
		name := l
		if l == "" {
			name = "none"
		}
		parts = append(parts, fmt.Sprintf("%s %.0f %%", name, 100*r.speaker[l].Seconds()/total.Seconds()))
	}
	var tiles []string
	for _, l := range slices.Sorted(maps.Keys(r.tiles)) {
		name := l
		if l == "" {
			name = "none"
		}
		tiles = append(tiles, fmt.Sprintf("%s %d", name, r.tiles[l]))
	}
	fmt.Fprintf(w, "              the tool delivered %d packets over %v late (its CPU, not the line: the server sees it as queueing); mean %.1f ms, max %.0f ms\n",
		r.late, shapedLate, float64(r.lateMean.Microseconds())/1000, float64(r.lateMax.Microseconds())/1000)
	fmt.Fprintf(w, "              speaker's video layer over the window (from layers messages): %s; other tiles at the end: %s\n",
		strings.Join(parts, ", "), strings.Join(tiles, ", "))
}
