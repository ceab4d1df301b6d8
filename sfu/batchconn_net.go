package sfu

import (
	"net"
	"sync"

	"github.com/pion/transport/v5"
)

// batchFlushers is how many flusher goroutines (and send queues) each
// batched socket has; datagrams are spread over them by destination.
const batchFlushers = 1

// batchNet is the pion/transport Net that ice.NewMultiUDPMuxFromPort opens
// its sockets with: the standard one, except that each UDP socket comes
// back wrapped in a batchConn. Interface and IP filtering stay pion's.
// It also remembers the batchConns, for their counters.
type batchNet struct {
	transport.Net // nil when used only through wrap

	mu    sync.Mutex
	conns []*batchConn
}

// ListenUDP opens a UDP socket and batches its I/O where supported.
func (n *batchNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return n.wrap(c), nil
}

// wrap returns c as a batchConn, or c itself where batching is not
// supported.
func (n *batchNet) wrap(c *net.UDPConn) transport.UDPConn {
	if !batchSupported(c) {
		return c
	}
	bc := newBatchConn(c, batchFlushers, 0)
	n.mu.Lock()
	n.conns = append(n.conns, bc)
	n.mu.Unlock()
	return bc
}

// stats adds up the counters of every socket.
func (n *batchNet) stats() BatchStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	var t BatchStats
	for _, c := range n.conns {
		s := c.Stats()
		t.Sent += s.Sent
		t.Batches += s.Batches
		t.Dropped += s.Dropped
		t.Errors += s.Errors
		t.Received += s.Received
		t.ReadCalls += s.ReadCalls
	}
	return t
}
