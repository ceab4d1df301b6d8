package loadtest

import (
	"slices"
	"time"
)

// quantiles returns the median and 95th percentile of d (zero when empty).
func quantiles(d []time.Duration) (p50, p95 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2], s[min(len(s)-1, len(s)*95/100)]
}

// rxStats follows one received RTP stream (RFC 3550 appendix A.1 and A.8).
type rxStats struct {
	started     bool
	baseSeq     uint16
	maxSeq      uint16
	cycles      uint32
	received    uint64
	jitter      float64 // in timestamp units (1/8000 s)
	lastTransit int64
	maxJitter   float64
}

// add records a packet with sequence number seq and RTP timestamp ts that
// arrived at now.
func (r *rxStats) add(seq uint16, ts uint32, now time.Time) {
	arrival := now.UnixNano() * rate / 1e9
	transit := arrival - int64(ts)
	if !r.started {
		r.started, r.baseSeq, r.maxSeq, r.lastTransit = true, seq, seq, transit
		r.received = 1
		return
	}
	r.received++
	if d := seq - r.maxSeq; d > 0 && d < 0x8000 {
		if seq < r.maxSeq {
			r.cycles++
		}
		r.maxSeq = seq
	}
	d := float64(transit - r.lastTransit)
	r.lastTransit = transit
	if d < 0 {
		d = -d
	}
	r.jitter += (d - r.jitter) / 16
	r.maxJitter = max(r.maxJitter, r.jitter)
}

// expected is how many packets the sender sent from the first to the newest.
func (r *rxStats) expected() uint64 {
	if !r.started {
		return 0
	}
	return uint64(r.cycles)<<16 + uint64(r.maxSeq) - uint64(r.baseSeq) + 1
}

// jitterDur is the current interarrival jitter estimate.
func (r *rxStats) jitterDur() time.Duration {
	return time.Duration(r.jitter * float64(time.Second) / rate)
}
