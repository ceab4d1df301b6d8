package loadtest

import (
	"fmt"
	"io"
	"time"
)

// Report is what one run measured.
type Report struct {
	Config     Config
	Failed     int    // calls not answered
	FirstError string // why the first failed call failed

	setups                       []time.Duration
	procIdle, procStart, procEnd procSample
	selfStart, selfEnd           procSample // this process, for comparison
	start, end                   time.Time

	// Filled by collect.
	Answered, Dropped, Silent int
	Expected, Received        uint64
	Jitters                   []time.Duration // final RFC 3550 jitter per caller
	PhoneToPhone              Direction       // mouth-to-ear from phone caller 0 to the other callers
}

// collect gathers the callers' receive statistics and the phone->phone
// delays from the marker clock.
func (r *Report) collect(calls []*caller) {
	r.Answered = len(calls)
	for _, c := range calls {
		c.mu.Lock()
		if c.serverBye.Load() {
			r.Dropped++
		}
		if r.end.Sub(c.lastRecv) > 2*time.Second {
			r.Silent++
		}
		r.Expected += c.rx.expected()
		r.Received += c.rx.received
		r.Jitters = append(r.Jitters, c.rx.jitterDur())
		c.mu.Unlock()
	}
	r.PhoneToPhone = r.Config.Markers.Direction(false, false)
}

// Loss is the share of packets the callers did not receive (0..1).
func (r *Report) Loss() float64 {
	if r.Expected == 0 {
		return 0
	}
	return 1 - float64(r.Received)/float64(r.Expected)
}

// Write prints the report for people.
func (r *Report) Write(w io.Writer) {
	c := r.Config
	codec := "G.711 µ-law"
	if c.Codec == CodecG722 {
		codec = "G.722"
	}
	fmt.Fprintf(w, "dialroom load: %d %s calls to %s at %.0f calls/s, %v measured, listeners send %s\n",
		c.Calls, codec, c.Server, c.Rate, r.end.Sub(r.start).Round(time.Millisecond), c.Signal)
	if c.Jitter > 0 {
		fmt.Fprintf(w, "emulated jitter: every packet to the server waits 0..%v (mean %v), included in the delay\n", c.Jitter, c.Jitter/2)
	}
	s50, s95 := quantiles(r.setups)
	fmt.Fprintf(w, "calls:        %d answered, %d failed, %d hung up by the server, %d without audio at the end\n",
		r.Answered, r.Failed, r.Dropped, r.Silent)
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error:  %s\n", r.FirstError)
	}
	fmt.Fprintf(w, "setup time:   median %v, p95 %v (INVITE to 200 OK)\n", s50.Round(10*time.Microsecond), s95.Round(10*time.Microsecond))
	fmt.Fprintf(w, "packet loss:  %.4f %% (%d of %d packets from the server)\n", 100*r.Loss(), r.Expected-r.Received, r.Expected)
	if secs := r.end.Sub(r.start).Seconds(); secs > 0 && r.Answered > 0 {
		// Loss counts sequence gaps; a server that falls behind its 20 ms
		// clock sends fewer packets without gaps, which only this shows.
		fmt.Fprintf(w, "packet rate:  %.1f packets/s per caller from the server (50 on time)\n",
			float64(r.Received)/float64(r.Answered)/secs)
	}
	j50, j95 := quantiles(r.Jitters)
	fmt.Fprintf(w, "jitter:       median %v, p95 %v (RFC 3550, per caller)\n", j50.Round(10*time.Microsecond), j95.Round(10*time.Microsecond))
	if c.ownMarkers {
		// With a shared marker clock the caller prints every direction.
		r.PhoneToPhone.write(w)
	}
	if c.ServerPID > 0 {
		n := max(r.Answered, 1)
		fmt.Fprintf(w, "server:       %.1f %% of one core; RSS %.1f MB (%.1f MB before the calls, peak %.1f MB), %.0f KB per call; %d threads\n",
			100*cpuShare(r.procStart, r.procEnd), mb(r.procEnd.rssBytes), mb(r.procIdle.rssBytes), mb(r.procEnd.hwmBytes),
			float64(r.procEnd.rssBytes-r.procIdle.rssBytes)/1024/float64(n), r.procEnd.threads)
	}
	fmt.Fprintf(w, "load tool:    %.1f %% of one core (it shares the machine with the server)\n", 100*cpuShare(r.selfStart, r.selfEnd))
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
