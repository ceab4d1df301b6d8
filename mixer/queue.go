package mixer

// pcmQueue is a small FIFO of PCM samples between an input's arrival (RTP, any
// timing) and the mixer's 20 ms tick. It is the skeleton's jitter buffer: playout
// starts once prefill samples are buffered, restarts priming when it runs dry, and
// drops the oldest audio when the sender runs fast (clock drift, bursts), so delay
// stays bounded by the capacity. Not safe for concurrent use; the owner locks.
type pcmQueue struct {
	buf    [queueCap]int16
	r, n   int // read position and fill, in samples
	primed bool
}

const (
	queuePrefill = 2 * FrameSamples  // 40 ms before playout starts
	queueCap     = 10 * FrameSamples // 200 ms at most in flight
)

// push appends s, dropping the oldest samples when full.
func (q *pcmQueue) push(s []int16) {
	if len(s) > queueCap {
		s = s[len(s)-queueCap:]
	}
	if over := q.n + len(s) - queueCap; over > 0 {
		q.r = (q.r + over) % queueCap
		q.n -= over
	}
	w := (q.r + q.n) % queueCap
	c := copy(q.buf[w:], s)
	copy(q.buf[:], s[c:])
	q.n += len(s)
}

// pop fills dst (one frame) and reports whether it had audio; on false dst is untouched.
func (q *pcmQueue) pop(dst []int16) bool {
	if !q.primed {
		if q.n < queuePrefill {
			return false
		}
		q.primed = true
	}
	if q.n < len(dst) {
		q.primed = false // ran dry: wait for prefill again rather than stutter
		return false
	}
	c := copy(dst, q.buf[q.r:min(q.r+len(dst), queueCap)])
	copy(dst[c:], q.buf[:len(dst)-c])
	q.r = (q.r + len(dst)) % queueCap
	q.n -= len(dst)
	return true
}
