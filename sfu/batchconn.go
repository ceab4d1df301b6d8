package sfu

import (
	"errors"
	"hash/maphash"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// With webrtc.udp_port every participant's media leaves through one shared
// ICE UDP socket, and about half of the SFU's CPU goes into sendto(2), one
// call per packet per subscriber. batchConn queues datagrams and hands them
// to the kernel many at a time with sendmmsg(2), and reads with recvmmsg(2).
// Measured on the project's 2-core machines over loopback, it saves the
// system call overhead (~0.25 µs of user time per datagram) but not the
// kernel's work per datagram (~2 µs, the same with sendmmsg), and its own
// queueing costs about as much as it saves: so it is off by default
// (webrtc.batch_io). BenchmarkUDPSend and `dialroom load` compare.

const (
	// batchMax is the most datagrams one sendmmsg or recvmmsg carries.
	batchMax = 32
	// combineRounds is how many sendmmsg calls a writer that took the
	// sender's role makes at most before it passes the role on: its
	// forwarding work waits meanwhile (32 datagrams take ~70 µs). Short
	// calls also keep the Go scheduler from handing the writer's P away
	// during the call, after which it waits to run again.
	combineRounds = 2
	// stealDepth is the queue length at which a writer stops waiting for
	// a stalled sender and sends too (see sendQueue).
	stealDepth = 256
	// batchQueue is how many datagrams may wait to be sent, per flusher;
	// more are dropped (and counted) rather than blocking the forwarder.
	// 4096 is ~8 ms of 500,000 packets/s.
	batchQueue = 4096
	// batchReadBuf is the size of each receive buffer: pion/ice's receive
	// MTU, so nothing a peer sends is truncated.
	batchReadBuf = 8192
	// batchPacketBuf is the initial size of a queued datagram's buffer;
	// larger datagrams get a larger one.
	batchPacketBuf = 1500
)

// errNotUDPAddr is returned by WriteTo for an address that is not UDP.
var errNotUDPAddr = errors.New("sfu: batch conn: not a UDP address")

// BatchStats counts what a batched UDP socket did.
type BatchStats struct {
	// Sent counts datagrams handed to the kernel, Batches the system calls
	// that sent them (Sent/Batches is the mean batch size).
	Sent, Batches uint64
	// Dropped counts datagrams dropped because the send queue was full.
	Dropped uint64
	// Errors counts datagrams the kernel refused.
	Errors uint64
	// Received counts datagrams read, ReadCalls the system calls.
	Received, ReadCalls uint64
}

// batcher is what ipv4.PacketConn and ipv6.PacketConn share: their
// Message types are both socket.Message.
type batcher interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// outPacket is one queued datagram.
type outPacket struct {
	b    []byte
	to   netip.AddrPort
	addr net.UDPAddr // to, for sendmmsg; IP points into ip
	ip   [16]byte
}

// sendQueue is a bounded FIFO of datagrams and the goroutines that drain
// it. Normally one goroutine at a time holds the sender's role and sends,
// so datagrams to one address (always the same queue) leave in the order
// they were written. A sender that stalls (descheduled on a busy machine)
// would make the queue overflow, so once stealDepth datagrams wait, a
// writer joins as a second sender; the two batches in flight may then
// cross.
type sendQueue struct {
	c    *batchConn
	wake chan struct{} // cap 1: the flusher should look at the queue

	mu      sync.Mutex
	ring    []*outPacket // len batchQueue (or the test's limit)
	head    int
	n       int
	senders int  // goroutines sending from this queue
	paused  bool // tests: nobody sends, so the queue fills
}

// sendScratch is a sender's batch: the datagrams taken from the queue and
// their sendmmsg headers.
type sendScratch struct {
	pkts []*outPacket
	msgs []ipv4.Message
}

// batchConn is a net.PacketConn on one UDP socket that sends with
// sendmmsg and reads with recvmmsg. WriteTo copies the datagram into a
// pooled buffer and queues it, unless nothing waits and nobody sends: then
// the writer takes the sender's role and sends it at once with sendto. If
// no goroutine is sending, the writer itself takes the sender's role and
// sends what has queued, its own datagram included, in one system call;
// writers arriving meanwhile only
// queue, and the sender takes their datagrams next (at most combineRounds
// calls, then the role passes on). So at low load a datagram leaves alone
// at once, under load the queue batches by itself (no timer), and the
// kernel's sending work stays spread over the forwarding goroutines. A
// flusher goroutine takes what a sender leaves behind. A full queue drops.
// With combine off, only the flusher sends: under load it stalls whenever
// the Go or the OS scheduler puts it aside, and the queue overflows (kept
// for BenchmarkUDPSend's comparison).
// It also implements pion/ice's AddrPortReaderWriter (no net.Addr
// allocations) and pion/transport's UDPConn (for its Net).
type batchConn struct {
	conn  *net.UDPConn
	batch batcher
	v4    bool // an IPv4 socket: addresses are unmapped before sending
	seed  maphash.Seed
	// combine lets writers send (see above); off, only the flusher does.
	combine bool

	queues    []*sendQueue
	pool      sync.Pool // *outPacket
	scratch   sync.Pool // *sendScratch
	closed    atomic.Bool
	done      chan struct{}
	flushers  sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
	wdeadline atomic.Int64 // UnixNano; 0 = none

	// plainWrite and plainRead are set when the kernel lacks
	// sendmmsg/recvmmsg: the flushers and readers then use one system call
	// per datagram.
	plainWrite, plainRead atomic.Bool

	rmu   sync.Mutex // one reader at a time owns the ring below
	rmsgs []ipv4.Message
	rn    int // datagrams in rmsgs from the last recvmmsg
	rnext int // the next one to hand out

	sent, batches, dropped, errs, received, readCalls atomic.Uint64
}

// batchSupported reports whether c may be batched: on Linux (elsewhere
// x/net sends one datagram per call anyway), and not on a socket bound to
// the IPv6 wildcard, which would need IPv4-mapped addresses that x/net does
// not write.
func batchSupported(c *net.UDPConn) bool {
	la, ok := c.LocalAddr().(*net.UDPAddr)
	if runtime.GOOS != "linux" || !ok {
		return false
	}
	return la.IP.To4() != nil || !la.IP.IsUnspecified()
}

// newBatchConn wraps c with flushers send queues (at least 1), each
// holding up to limit datagrams (0 = batchQueue). The flushers run until
// Close. Callers check batchSupported first.
func newBatchConn(c *net.UDPConn, flushers, limit int) *batchConn {
	return newBatchConnOpts(c, flushers, limit, true, false)
}

// newBatchConnOpts is newBatchConn with writers sending (combine) or not,
// and for tests, with nobody sending until sendQueue.resume (paused).
func newBatchConnOpts(c *net.UDPConn, flushers, limit int, combine, paused bool) *batchConn {
	if flushers < 1 {
		flushers = 1
	}
	if limit <= 0 {
		limit = batchQueue
	}
	bc := &batchConn{conn: c, seed: maphash.MakeSeed(), done: make(chan struct{}), combine: combine}
	if la, _ := c.LocalAddr().(*net.UDPAddr); la != nil && la.IP.To4() != nil {
		bc.v4 = true
		bc.batch = ipv4.NewPacketConn(c)
	} else {
		bc.batch = ipv6.NewPacketConn(c)
	}
	bc.pool.New = func() any { return &outPacket{b: make([]byte, 0, batchPacketBuf)} }
	bc.scratch.New = func() any {
		s := &sendScratch{pkts: make([]*outPacket, batchMax), msgs: make([]ipv4.Message, batchMax)}
		for i := range s.msgs {
			s.msgs[i].Buffers = make([][]byte, 1)
		}
		return s
	}
	bc.rmsgs = make([]ipv4.Message, batchMax)
	for i := range bc.rmsgs {
		bc.rmsgs[i].Buffers = [][]byte{make([]byte, batchReadBuf)}
	}
	for range flushers {
		q := &sendQueue{c: bc, wake: make(chan struct{}, 1), ring: make([]*outPacket, limit), paused: paused}
		bc.queues = append(bc.queues, q)
		bc.flushers.Add(1)
		go q.flush()
	}
	return bc
}

// WriteToAddrPort queues b for to. It never blocks: with the queue full
// the datagram is dropped and counted, as a full socket buffer would.
func (c *batchConn) WriteToAddrPort(b []byte, to netip.AddrPort) (int, error) {
	if c.closed.Load() {
		return 0, c.opError("write", net.ErrClosed)
	}
	if d := c.wdeadline.Load(); d != 0 && time.Now().UnixNano() >= d {
		return 0, c.opError("write", os.ErrDeadlineExceeded)
	}
	if c.v4 {
		to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
	}
	q := c.queues[0]
	if len(c.queues) > 1 {
		q = c.queues[c.shard(to)]
	}
	if c.combine && q.claimIdle() {
		// Nothing waits and nobody sends: send b at once, without copying
		// it, then whatever queued meanwhile.
		c.sendOne(b, to)
		q.drain(combineRounds)
		return len(b), nil
	}
	p := c.pool.Get().(*outPacket)
	p.b = append(p.b[:0], b...)
	p.to = to
	queued, send := q.push(p)
	if !queued {
		c.dropped.Add(1)
		c.pool.Put(p)
	}
	if send {
		q.drain(combineRounds)
	}
	return len(b), nil
}

// shard picks the queue of a destination.
func (c *batchConn) shard(to netip.AddrPort) int {
	var h maphash.Hash
	h.SetSeed(c.seed)
	a := to.Addr().As16()
	h.Write(a[:])
	port := to.Port()
	h.WriteByte(byte(port))
	h.WriteByte(byte(port >> 8))
	return int(h.Sum64() % uint64(len(c.queues)))
}

// claimIdle makes the caller a sender if the queue is empty and nobody
// sends.
func (q *sendQueue) claimIdle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n > 0 || q.senders > 0 || q.paused {
		return false
	}
	q.senders++
	return true
}

// push queues p; queued is false when the queue is full. send is true
// when the caller became a sender and must drain; without combine, an idle
// flusher is woken instead.
func (q *sendQueue) push(p *outPacket) (queued, send bool) {
	q.mu.Lock()
	if q.n == len(q.ring) {
		q.mu.Unlock()
		return false, false
	}
	q.ring[(q.head+q.n)%len(q.ring)] = p
	q.n++
	wake := false
	switch {
	case q.paused:
	case !q.c.combine:
		wake = q.senders == 0
	case q.senders == 0 || q.n >= stealDepth:
		q.senders++
		send = true
	}
	q.mu.Unlock()
	if wake {
		q.kick()
	}
	return true, send
}

// kick wakes the flusher.
func (q *sendQueue) kick() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// drain sends what is queued, batchMax datagrams a call; the caller has
// counted itself in q.senders. It stops when the queue is empty, or after
// rounds calls (0 = no limit), then leaving the rest to the flusher or the
// next writer.
func (q *sendQueue) drain(rounds int) {
	c := q.c
	sc := c.scratch.Get().(*sendScratch)
	defer c.scratch.Put(sc)
	for r := 0; ; r++ {
		q.mu.Lock()
		if q.n == 0 || q.paused || c.closed.Load() || (rounds > 0 && r == rounds) {
			q.senders--
			kick := q.n > 0 && q.senders == 0
			q.mu.Unlock()
			if kick {
				q.kick()
			}
			return
		}
		k := min(q.n, len(sc.pkts))
		for i := range k {
			sc.pkts[i] = q.ring[q.head]
			q.ring[q.head] = nil
			q.head = (q.head + 1) % len(q.ring)
		}
		q.n -= k
		q.mu.Unlock()
		c.send(sc.pkts[:k], sc.msgs[:k])
		for i, p := range sc.pkts[:k] {
			c.pool.Put(p)
			sc.pkts[i] = nil
		}
	}
}

// resume lets a paused queue be sent (tests).
func (q *sendQueue) resume() {
	q.mu.Lock()
	q.paused = false
	q.mu.Unlock()
	q.kick()
}

// flush runs until the conn is closed, sending what writers leave queued:
// everything without combine, else what a sender left after its rounds.
func (q *sendQueue) flush() {
	c := q.c
	defer c.flushers.Done()
	rounds := 0
	if c.combine {
		rounds = combineRounds
	}
	for {
		select {
		case <-q.wake:
		case <-c.done:
			return
		}
		q.mu.Lock()
		if q.senders > 0 || q.paused || q.n == 0 {
			q.mu.Unlock()
			continue
		}
		q.senders++
		q.mu.Unlock()
		q.drain(rounds)
	}
}

// send writes pkts with sendmmsg, skipping a datagram the kernel refuses.
func (c *batchConn) send(pkts []*outPacket, msgs []ipv4.Message) {
	if c.plainWrite.Load() {
		c.sendPlain(pkts)
		return
	}
	for i, p := range pkts {
		msgs[i].Buffers[0] = p.b
		msgs[i].Addr = p.udpAddr()
	}
	for len(msgs) > 0 {
		n, err := c.batch.WriteBatch(msgs, 0)
		switch {
		case err == nil && n > 0:
			c.sent.Add(uint64(n))
			c.batches.Add(1)
		case errors.Is(err, syscall.ENOSYS):
			c.plainWrite.Store(true)
			c.sendPlain(pkts[len(pkts)-len(msgs):])
			return
		case errors.Is(err, net.ErrClosed):
			return
		default:
			// sendmmsg fails only for the first datagram of the batch
			// (say, an unreachable address); skip it and go on.
			c.errs.Add(1)
			n = 1
		}
		msgs = msgs[n:]
	}
}

// sendPlain writes pkts one system call each.
func (c *batchConn) sendPlain(pkts []*outPacket) {
	for _, p := range pkts {
		if !c.sendOne(p.b, p.to) {
			return
		}
	}
}

// sendOne writes one datagram with sendto; false once the socket is closed.
func (c *batchConn) sendOne(b []byte, to netip.AddrPort) bool {
	if _, err := c.conn.WriteToUDPAddrPort(b, to); err != nil {
		if errors.Is(err, net.ErrClosed) {
			return false
		}
		c.errs.Add(1)
		return true
	}
	c.sent.Add(1)
	c.batches.Add(1)
	return true
}

// udpAddr fills p.addr from p.to without allocating.
func (p *outPacket) udpAddr() *net.UDPAddr {
	a := p.to.Addr()
	if a.Is4() {
		v := a.As4()
		copy(p.ip[:], v[:])
		p.addr.IP = p.ip[:4]
	} else {
		p.ip = a.As16()
		p.addr.IP = p.ip[:16]
	}
	p.addr.Port = int(p.to.Port())
	p.addr.Zone = a.Zone()
	return &p.addr
}

// ReadFromAddrPort returns the next datagram, from the batch the last
// recvmmsg returned or from a new one. Datagrams longer than b are
// truncated, as with ReadFrom on a UDP socket.
func (c *batchConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.plainRead.Load() {
		return c.readPlain(b)
	}
	for c.rnext >= c.rn {
		n, err := c.batch.ReadBatch(c.rmsgs, 0)
		if errors.Is(err, syscall.ENOSYS) {
			c.plainRead.Store(true)
			return c.readPlain(b)
		}
		if err != nil {
			return 0, netip.AddrPort{}, err
		}
		c.readCalls.Add(1)
		c.rn, c.rnext = n, 0
	}
	m := &c.rmsgs[c.rnext]
	c.rnext++
	c.received.Add(1)
	n := copy(b, m.Buffers[0][:m.N])
	ua, ok := m.Addr.(*net.UDPAddr)
	if !ok {
		return 0, netip.AddrPort{}, c.opError("read", errNotUDPAddr)
	}
	return n, ua.AddrPort(), nil
}

func (c *batchConn) readPlain(b []byte) (int, netip.AddrPort, error) {
	n, from, err := c.conn.ReadFromUDPAddrPort(b)
	if err == nil {
		c.received.Add(1)
		c.readCalls.Add(1)
	}
	return n, from, err
}

// ReadFrom implements net.PacketConn.
func (c *batchConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// ReadFromUDP implements pion/transport's UDPConn.
func (c *batchConn) ReadFromUDP(b []byte) (int, *net.UDPAddr, error) {
	n, from, err := c.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// WriteTo implements net.PacketConn; to must be a *net.UDPAddr.
func (c *batchConn) WriteTo(b []byte, to net.Addr) (int, error) {
	ua, ok := to.(*net.UDPAddr)
	if !ok || ua == nil {
		return 0, c.opError("write", errNotUDPAddr)
	}
	return c.WriteToAddrPort(b, ua.AddrPort())
}

// WriteToUDP implements pion/transport's UDPConn.
func (c *batchConn) WriteToUDP(b []byte, to *net.UDPAddr) (int, error) {
	if to == nil {
		return 0, c.opError("write", errNotUDPAddr)
	}
	return c.WriteToAddrPort(b, to.AddrPort())
}

// Read, Write, ReadMsgUDP and WriteMsgUDP go straight to the socket: the
// ICE mux does not use them (the socket is not connected).

// Read implements pion/transport's UDPConn.
func (c *batchConn) Read(b []byte) (int, error) { return c.conn.Read(b) }

// Write implements pion/transport's UDPConn.
func (c *batchConn) Write(b []byte) (int, error) { return c.conn.Write(b) }

// ReadMsgUDP implements pion/transport's UDPConn.
func (c *batchConn) ReadMsgUDP(b, oob []byte) (int, int, int, *net.UDPAddr, error) {
	return c.conn.ReadMsgUDP(b, oob)
}

// WriteMsgUDP implements pion/transport's UDPConn.
func (c *batchConn) WriteMsgUDP(b, oob []byte, to *net.UDPAddr) (int, int, error) {
	return c.conn.WriteMsgUDP(b, oob, to)
}

// LocalAddr returns the socket's address (a *net.UDPAddr).
func (c *batchConn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns nil: the socket is not connected.
func (c *batchConn) RemoteAddr() net.Addr { return nil }

// SetReadBuffer sets the socket's receive buffer (SO_RCVBUF).
func (c *batchConn) SetReadBuffer(n int) error { return c.conn.SetReadBuffer(n) }

// SetWriteBuffer sets the socket's send buffer (SO_SNDBUF).
func (c *batchConn) SetWriteBuffer(n int) error { return c.conn.SetWriteBuffer(n) }

// SetDeadline sets both deadlines.
func (c *batchConn) SetDeadline(t time.Time) error {
	_ = c.SetWriteDeadline(t)
	return c.SetReadDeadline(t)
}

// SetReadDeadline applies to the socket: a read blocked in recvmmsg
// returns at t.
func (c *batchConn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline makes writes fail from t on. Writes only queue and never
// block, so the deadline does not apply to the flushers: pion/ice sets one
// in the past to abort writes when their context ends.
func (c *batchConn) SetWriteDeadline(t time.Time) error {
	var d int64
	if !t.IsZero() {
		d = t.UnixNano()
	}
	c.wdeadline.Store(d)
	return nil
}

// Stats returns the counters so far.
func (c *batchConn) Stats() BatchStats {
	return BatchStats{Sent: c.sent.Load(), Batches: c.batches.Load(), Dropped: c.dropped.Load(),
		Errors: c.errs.Load(), Received: c.received.Load(), ReadCalls: c.readCalls.Load()}
}

// Close closes the socket, which ends a blocked read, stops the flushers
// (what is still queued is dropped) and waits for them. It is idempotent.
func (c *batchConn) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		close(c.done)
		c.closeErr = c.conn.Close()
		c.flushers.Wait()
	})
	return c.closeErr
}

func (c *batchConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "udp", Source: c.conn.LocalAddr(), Err: err}
}
