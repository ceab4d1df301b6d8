package sfu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

func listenLoopback(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(udpBufferBytes)
	_ = c.SetWriteBuffer(udpBufferBytes)
	return c
}

func addrPort(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// datagram builds writer w's datagram seq: w, seq, then a pattern of both,
// 1 to 3,000 bytes long (longer than one pooled buffer now and then).
func datagram(w, seq int) []byte {
	n := 9 + (seq*37+w*11)%1400
	if seq%97 == 0 {
		n = 3000
	}
	b := make([]byte, n)
	b[0] = byte(w)
	binary.BigEndian.PutUint32(b[1:], uint32(seq))
	for i := 5; i < n; i++ {
		b[i] = byte(i*7 + w + seq)
	}
	return b
}

// Concurrent writers, several to each destination: every datagram arrives
// intact, and each writer's datagrams arrive in the order written.
func TestBatchConnDeliversInOrder(t *testing.T) {
	for _, tc := range []struct {
		flushers int
		combine  bool
	}{{1, true}, {3, true}, {1, false}, {3, false}} {
		t.Run(fmt.Sprintf("flushers=%d,combine=%v", tc.flushers, tc.combine), func(t *testing.T) {
			testDeliversInOrder(t, newBatchConnOpts(listenLoopback(t), tc.flushers, 0, tc.combine, false))
		})
	}
}

func testDeliversInOrder(t *testing.T, bc *batchConn) {
	const dests, writers, perWriter, window = 3, 6, 1500, 8
	defer bc.Close()
	var got [writers]struct {
		sync.Mutex
		n int // datagrams received in order so far
	}
	errc := make(chan error, dests+writers)
	var readers sync.WaitGroup
	var sinks []*net.UDPConn
	for range dests {
		sink := listenLoopback(t)
		sinks = append(sinks, sink)
		readers.Add(1)
		go func() {
			defer readers.Done()
			buf := make([]byte, 4096)
			for {
				n, err := sink.Read(buf)
				if err != nil {
					return // closed
				}
				w, seq := int(buf[0]), int(binary.BigEndian.Uint32(buf[1:]))
				if w >= writers || !bytes.Equal(buf[:n], datagram(w, seq)) {
					errc <- fmt.Errorf("datagram from writer %d seq %d: %d bytes not as sent", w, seq, n)
					return
				}
				g := &got[w]
				g.Lock()
				if seq != g.n {
					errc <- fmt.Errorf("writer %d: got seq %d, want %d", w, seq, g.n)
				}
				g.n = seq + 1
				g.Unlock()
			}
		}()
	}
	defer func() {
		for _, s := range sinks {
			_ = s.Close()
		}
		readers.Wait()
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			to := addrPort(sinks[w%dests])
			for seq := 0; seq < perWriter; seq++ {
				if _, err := bc.WriteToAddrPort(datagram(w, seq), to); err != nil {
					errc <- err
					return
				}
				// Keep at most a window in flight, so that the sinks'
				// socket buffers never overflow.
				if seq%window == window-1 && !waitFor(func() bool {
					got[w].Lock()
					defer got[w].Unlock()
					return got[w].n > seq
				}) {
					errc <- fmt.Errorf("writer %d: datagrams up to %d never arrived (stats %+v)", w, seq, bc.Stats())
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	// The counters move just after sendmmsg returns: the last datagrams
	// may have arrived a moment before.
	want := uint64(writers * perWriter)
	waitFor(func() bool { return bc.Stats().Sent >= want })
	st := bc.Stats()
	if st.Sent != want || st.Dropped != 0 || st.Errors != 0 {
		t.Errorf("stats: got %+v, want %d sent, none dropped or refused", st, want)
	}
	t.Logf("%d datagrams in %d sendmmsg calls", st.Sent, st.Batches)
}

// waitFor polls cond until it holds or testTimeout passes.
func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// With the flusher held, writes beyond the queue's size are dropped and
// counted, and never block; the queued ones leave when it runs.
func TestBatchConnQueueFullDrops(t *testing.T) {
	const limit, extra = 8, 5
	bc := newBatchConnOpts(listenLoopback(t), 1, limit, true, true)
	defer bc.Close()
	sink := listenLoopback(t)
	defer sink.Close()
	for seq := range limit + extra {
		if n, err := bc.WriteToAddrPort(datagram(0, seq), addrPort(sink)); err != nil || n != len(datagram(0, seq)) {
			t.Fatalf("write %d: got %d, %v", seq, n, err)
		}
	}
	if st := bc.Stats(); st.Dropped != extra || st.Sent != 0 {
		t.Fatalf("while held: got %+v, want %d dropped, none sent", st, extra)
	}
	bc.queues[0].resume()
	buf := make([]byte, 4096)
	_ = sink.SetReadDeadline(time.Now().Add(testTimeout))
	for seq := range limit {
		n, err := sink.Read(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", seq, err)
		}
		if !bytes.Equal(buf[:n], datagram(0, seq)) {
			t.Fatalf("datagram %d: got seq %d, %d bytes", seq, binary.BigEndian.Uint32(buf[1:]), n)
		}
	}
	if !waitFor(func() bool { return bc.Stats().Sent == limit }) {
		t.Errorf("sent: got %d, want %d", bc.Stats().Sent, limit)
	}
}

// A sender that stalls with the sender's role does not make the queue
// overflow: once stealDepth datagrams wait, a writer sends them.
func TestBatchConnStalledSender(t *testing.T) {
	bc := newBatchConn(listenLoopback(t), 1, stealDepth+8)
	defer bc.Close()
	sink := listenLoopback(t)
	defer sink.Close()
	q := bc.queues[0]
	q.mu.Lock()
	q.senders++ // a sender that never comes back
	q.mu.Unlock()
	const n = 2 * stealDepth
	for seq := range n {
		if _, err := bc.WriteToAddrPort(datagram(2, seq), addrPort(sink)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 4096)
	_ = sink.SetReadDeadline(time.Now().Add(testTimeout))
	got := 0
	for ; got < n-stealDepth; got++ {
		k, err := sink.Read(buf)
		if err != nil {
			t.Fatalf("after %d datagrams: %v (stats %+v)", got, err, bc.Stats())
		}
		if w := buf[0]; w != 2 || k != len(datagram(2, int(binary.BigEndian.Uint32(buf[1:])))) {
			t.Fatalf("datagram %d not as sent", got)
		}
	}
	if st := bc.Stats(); st.Dropped != 0 {
		t.Errorf("dropped %d with the sender stalled, want 0", st.Dropped)
	}
}

// Datagrams waiting in the socket come back from recvmmsg several at a
// time, intact, in order, with the sender's address.
func TestBatchConnReadsBatches(t *testing.T) {
	bc := newBatchConn(listenLoopback(t), 1, 0)
	defer bc.Close()
	src := listenLoopback(t)
	defer src.Close()
	const n = 40
	for seq := range n {
		if _, err := src.WriteToUDPAddrPort(datagram(1, seq), addrPort(bc.conn)); err != nil {
			t.Fatal(err)
		}
	}
	_ = bc.SetReadDeadline(time.Now().Add(testTimeout))
	buf := make([]byte, batchReadBuf)
	for seq := range n {
		var k int
		var from net.Addr
		var err error
		if seq%2 == 0 {
			var ap netip.AddrPort
			k, ap, err = bc.ReadFromAddrPort(buf)
			from = net.UDPAddrFromAddrPort(ap)
		} else {
			k, from, err = bc.ReadFrom(buf)
		}
		if err != nil {
			t.Fatalf("read %d: %v", seq, err)
		}
		if !bytes.Equal(buf[:k], datagram(1, seq)) {
			t.Fatalf("datagram %d: got seq %d, %d bytes", seq, binary.BigEndian.Uint32(buf[1:]), k)
		}
		if from.String() != src.LocalAddr().String() {
			t.Errorf("datagram %d from %v, want %v", seq, from, src.LocalAddr())
		}
	}
	if st := bc.Stats(); st.Received != n || st.ReadCalls >= n {
		t.Errorf("stats: got %d received in %d recvmmsg calls, want %d in fewer calls", st.Received, st.ReadCalls, n)
	}
}

// A write deadline in the past fails writes (pion/ice aborts writes so);
// clearing it lets them through again. Read deadlines reach the socket.
func TestBatchConnDeadlines(t *testing.T) {
	bc := newBatchConn(listenLoopback(t), 1, 0)
	defer bc.Close()
	sink := listenLoopback(t)
	defer sink.Close()
	_ = bc.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := bc.WriteTo([]byte("x"), sink.LocalAddr()); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("write after the deadline: got %v, want a deadline error", err)
	}
	_ = bc.SetWriteDeadline(time.Time{})
	if _, err := bc.WriteToUDP([]byte("y"), sink.LocalAddr().(*net.UDPAddr)); err != nil {
		t.Errorf("write without deadline: %v", err)
	}
	if _, err := bc.WriteTo([]byte("z"), &net.TCPAddr{}); err == nil {
		t.Error("write to a TCP address: got no error")
	}
	_ = bc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, _, err := bc.ReadFrom(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read past the deadline: got %v, want a deadline error", err)
	}
}

// Close ends a blocked reader and the flushers, later calls fail, a second
// Close is harmless, and no goroutine is left.
func TestBatchConnCloseUnblocks(t *testing.T) {
	base := runtime.NumGoroutine()
	bc := newBatchConn(listenLoopback(t), 2, 0)
	readErr := make(chan error, 1)
	go func() {
		_, _, err := bc.ReadFrom(make([]byte, 100))
		readErr <- err
	}()
	sink := listenLoopback(t)
	defer sink.Close()
	if _, err := bc.WriteTo([]byte("before close"), sink.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if err := bc.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	select {
	case err := <-readErr:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked read: got %v, want net.ErrClosed", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Close did not end a blocked read")
	}
	if _, err := bc.WriteTo([]byte("after close"), sink.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after close: got %v, want net.ErrClosed", err)
	}
	if err := bc.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	waitGoroutines(t, base)
}

// Only Linux sockets not on the IPv6 (dual-stack) wildcard are batched.
func TestBatchSupported(t *testing.T) {
	linux := runtime.GOOS == "linux"
	for _, tc := range []struct {
		network, addr string
		want          bool
	}{{"udp", "127.0.0.1:0", linux}, {"udp4", "0.0.0.0:0", linux}, {"udp", "[::1]:0", linux},
		{"udp", "[::]:0", false}, {"udp", "0.0.0.0:0", false}} { // "udp" on 0.0.0.0 is a dual-stack [::] socket
		a, _ := net.ResolveUDPAddr(tc.network, tc.addr)
		c, err := net.ListenUDP(tc.network, a)
		if err != nil {
			t.Logf("%s: %v (no such address here)", tc.addr, err)
			continue
		}
		if got := batchSupported(c); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.addr, got, tc.want)
		}
		_ = c.Close()
	}
}

// A pion peer still connects and hears another through the batched shared
// port, on one address and on ":port" (pion's multi-socket mux).
func TestICEOneUDPPortBatched(t *testing.T) {
	free := listenLoopback(t)
	port := free.LocalAddr().(*net.UDPAddr).Port
	_ = free.Close()
	for _, tc := range []struct {
		name string
		cfg  TransportConfig
	}{
		{"one address", TransportConfig{UDPListen: "127.0.0.1:0", BatchIO: true}},
		{"every allowed address", TransportConfig{ICEIPs: []string{"127.0.0.1"}, UDPListen: fmt.Sprintf(":%d", port), BatchIO: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			tr, err := NewTransport(tc.cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.UDPAddrs()) != 1 {
				t.Fatalf("udp addresses: got %v, want 127.0.0.1 only", tr.UDPAddrs())
			}
			m, err := NewManager(Config{ICEIPs: []string{"127.0.0.1"}, Transport: tr}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			room := m.Room("batched")
			a, b := talk(t, room, func(name string, pub webrtc.TrackLocal) *transportClient {
				return joinVia(t, room, name, udpOnly, webrtc.Configuration{}, pub)
			})
			want := tr.UDPAddrs()[0].(*net.UDPAddr).Port
			for _, c := range []*transportClient{a, b} {
				if p := c.selectedPair(); int(p.Remote.Port) != want {
					t.Errorf("%s: server side of the pair: got port %d, want %d", c.peer.ID(), p.Remote.Port, want)
				}
			}
			st, ok := tr.UDPBatchStats()
			if !ok || st.Sent < 25 || st.Received < 25 || st.Dropped != 0 {
				t.Errorf("batch stats: got %+v (on %v), want ≥ 25 sent and received, none dropped", st, ok)
			}
			a.close()
			b.close()
			m.Close()
			if err := tr.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			waitGoroutines(t, base)
		})
	}
}
