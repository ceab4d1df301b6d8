package sfu

import "time"

// The congestion controller keeps one subscriber's video under a ceiling
// (bit/s) decided from the signals of its TWCC feedback (congestion.go):
//
//   - Congestion is a loss burst (lossCongested of the packets reported in
//     the last two intervals, confirmed by a queue or a receiver report),
//     a queue that stands in the line for two intervals
//     and does not drain (queueStanding), or a queue that grew
//     in each of the last growIntervals intervals (by growStep at least)
//     by growBy in all.
//   - On congestion the ceiling falls to decreaseFactor of what is sent,
//     and on loss to decreaseFactor of the bitrate the subscriber
//     acknowledged (what its line carried); without a measured
//     acknowledged bitrate loss at most halves what is sent. Then nothing goes up for the hold (holdMin, doubling
//     after each failed probe up to holdMax), and signals on packets sent
//     before the decrease took effect (decreaseSettle) are not counted.
//   - After the hold the ceiling is raised one step: just enough for one
//     more layer of one track (the allocator says how much), or by a
//     growing share after consecutive successful steps (up to the rate of
//     the last congestion, then one layer at a time until a step went 10 %
//     past it), so that a lifted cap is found again in a few steps. A step is a probe for
//     probeTime: congestion during it drops the ceiling back to where it
//     was (or lower) and doubles the next hold; a clean probe makes the
//     step the new ceiling and the next step follows after stepPause. A
//     step well past the rate of the last congestion waits beyondHoldMin
//     after it (doubling after each such failed step): it can only fit if
//     the line has changed, and a failed one costs a second or two of loss.
//   - A ceiling at or above what the tiles ask for is dropped: no limit.
//
// A new subscriber starts at startCeiling and doubles it every startStep
// (on feedback that shows the line clean) until the tiles get what they
// ask for or the line shows congestion.
//
// Without TWCC feedback the receiver reports' loss (rrLoss) and a REMB
// from the browser still cap the video.
const (
	lossCongested   = 0.10                    // share of reported packets lost that is congestion (GCC: above 10 % decrease)
	queueStanding   = 60 * time.Millisecond   // smallest queuing delay of an interval that is a standing queue
	queueDraining   = 10 * time.Millisecond   // a standing queue this much shorter than in the previous interval drains
	growIntervals   = 3                       // intervals of steady queue growth that are congestion ...
	growBy          = 40 * time.Millisecond   // ... when the queue grew by this much over them ...
	growStep        = 5 * time.Millisecond    // ... and by at least this much in each
	decreaseFactor  = 85                      // percent of the acknowledged bitrate kept on congestion (GCC's beta)
	decreaseSettle  = time.Second             // after a decrease, how long before what is sent counts again (a layer switch waits for a keyframe)
	holdMin         = 4 * time.Second         // no step up for this long after a decrease
	holdMax         = 32 * time.Second        // the longest hold after failed probes
	probeTime       = 4 * time.Second         // how long a step must stay clean
	beyondHoldMin   = 15 * time.Second        // no step well past the rate of the last congestion for this long after it ...
	beyondHoldMax   = time.Minute             // ... doubling after each such step that failed, up to this
	startCeiling    = initialBitrate          // bit/s of video a new subscriber starts with, if its tiles ask for more ...
	startStep       = time.Second             // ... doubling this often until congestion or the tiles' demand
	stepPause       = time.Second             // between a clean step and the next
	minAckedSpan    = 200 * time.Millisecond  // an acknowledged bitrate measured over less is not trusted
	minAckedCount   = 10                      // nor one measured over fewer packets
	rrLossCongested = 26                      // fraction lost (of 256) in a receiver report that is congestion without TWCC (~10 %)
	lossQueue       = 20 * time.Millisecond   // a queue that confirms TWCC loss ...
	rrLossConfirms  = 13                      // ... as does a receiver report of this fraction lost (of 256, 5 %) ...
	rrRecent        = 2500 * time.Millisecond // ... within this long
)

// controller is the congestion controller of one subscriber; the
// allocator goroutine owns it.
type controller struct {
	ceiling    int // bit/s of video; 0 = no limit
	hold       time.Duration
	holdUntil  time.Time // no step up before this
	probing    bool
	probeUntil time.Time // a step up is being tried until then
	before     int       // the ceiling before the step being tried
	beyond     bool      // the step goes well past the rate of the last congestion
	beyondHold time.Duration
	decreased  time.Time                        // the last decrease
	streak     int                              // clean steps since the last congestion
	sentAvg    int                              // bit/s of video measured sent, smoothed over about 2 s
	congestion int                              // bit/s the line carried at the last congestion; 0 when a clean step went well past it
	feedback   bool                             // TWCC feedback has arrived: receiver reports no longer count
	queues     [growIntervals + 1]time.Duration // smallest queuing delay of the last intervals, newest first; -1 = none
	prevLoss   [2]int                           // the previous interval's reported and lost packets
	rrLoss     int                              // the last fraction lost (of 256) a receiver report gave, if not 0 ...
	rrAt       time.Time                        // ... and when
	decreases  int                              // congestions acted on, for reports and tests
	started    bool                             // the first update has run
	starting   bool                             // slow start: the ceiling doubles every startStep
}

// allocation is what the allocator knows when it asks for a ceiling.
type allocation struct {
	sent int // bit/s of video chosen at the last allocation
	want int // bit/s of video the tiles ask for
	// step returns the smallest ceiling above c that lets the allocator
	// send more (one more layer of one track); 0 if none does.
	step func(c int) int
}

// congested reports whether the signals show congestion, and why. Loss
// in the TWCC feedback counts when a queue or the receiver reports confirm
// it: a receiver that records arrivals per stream as its application reads
// them (pion) reports packets read late, behind another stream's, as lost.
func (c *controller) congested(now time.Time, s congestionSignals) (bool, string) {
	copy(c.queues[1:], c.queues[:len(c.queues)-1])
	c.queues[0] = s.queue
	q, prev := c.queues[0], c.queues[1]
	reported, lost := s.reported+c.prevLoss[0], s.lost+c.prevLoss[1]
	c.prevLoss = [2]int{s.reported, s.lost}
	confirmed := max(q, prev) >= lossQueue || c.rrLoss >= rrLossConfirms && now.Sub(c.rrAt) <= rrRecent
	if reported >= 2*minReported && lost >= minLost && float64(lost) >= lossCongested*float64(reported) && confirmed {
		return true, "loss"
	}
	if q >= queueStanding && prev >= queueStanding && q > prev-queueDraining {
		return true, "queue"
	}
	growing := q >= growBy
	for i := range growIntervals {
		if c.queues[i] < 0 || c.queues[i+1] < 0 || c.queues[i]-c.queues[i+1] < growStep {
			growing = false
		}
	}
	if growing && q-c.queues[growIntervals] >= growBy {
		return true, "delay growth"
	}
	return false, ""
}

// update returns the ceiling for this allocation interval (0 = no limit)
// and whether it is a decrease, so that the caller can stop counting
// what was sent before it took effect.
//
// rrLoss is the highest fraction lost (of 256) in the receiver reports on
// video since the last update, 0 if none.
func (c *controller) update(now time.Time, s congestionSignals, rrLoss int, a allocation) (int, bool) {
	if rrLoss > 0 {
		c.rrLoss, c.rrAt = rrLoss, now
	}
	if !c.started {
		// Slow start: a new subscriber's video starts under startCeiling
		// and doubles every startStep while nothing shows congestion,
		// rather than flooding a thin line with every tile at once.
		c.started = true
		if c.ceiling == 0 && a.want > startCeiling {
			c.ceiling, c.starting, c.holdUntil = startCeiling, true, now.Add(startStep)
		}
	}
	congested, why := c.congested(now, s)
	c.feedback = c.feedback || s.feedback
	if !c.feedback && rrLoss >= rrLossCongested {
		congested, why = true, "loss"
	}
	c.sentAvg += (s.sent - c.sentAvg) / 4
	if congested && a.sent > 0 {
		c.decrease(now, s, a, why == "loss")
		return c.ceiling, true
	}
	if c.ceiling == 0 {
		return 0, false
	}
	if c.starting {
		// Double only on feedback that shows the line clean: a new
		// subscriber's first feedback comes a while after its video.
		if now.Before(c.holdUntil) || s.reported < minReported || float64(s.lost) >= lossCongested*float64(s.reported) {
			return c.ceiling, false
		}
		c.ceiling, c.holdUntil = min(2*c.ceiling, maxBitrate), now.Add(startStep)
		if c.ceiling >= a.want {
			c.ceiling, c.starting = 0, false
		}
		return c.ceiling, false
	}
	if c.probing {
		if now.Before(c.probeUntil) {
			return c.ceiling, false
		}
		// The step held.
		c.probing, c.hold, c.streak = false, holdMin, c.streak+1
		c.holdUntil = now.Add(stepPause)
		if c.ceiling > c.congestion*11/10 {
			c.congestion, c.beyondHold = 0, 0 // whatever limited the line then is gone
		}
	}
	if now.Before(c.holdUntil) {
		return c.ceiling, false
	}
	if c.ceiling >= a.want {
		*c = controller{queues: c.queues, decreases: c.decreases, sentAvg: c.sentAvg, feedback: c.feedback,
			congestion: c.congestion, rrLoss: c.rrLoss, rrAt: c.rrAt, beyondHold: c.beyondHold, decreased: c.decreased,
			started: true}
		return 0, false
	}
	// +25 % per clean step in a row, at most +50 %, of what is sent (a
	// ceiling the allocator does not fill has not been tried); up to the
	// rate of the last congestion, then one step at a time.
	next := min(c.ceiling, max(c.sentAvg, a.sent)) * (4 + min(c.streak, 2)) / 4
	if c.congestion > 0 {
		next = min(next, c.congestion)
	}
	if a.step != nil {
		if st := a.step(c.ceiling); st > next {
			next = st
		}
	}
	if next <= c.ceiling {
		next = c.ceiling + c.ceiling/4 + 1
	}
	// A step well past what the line carried at the last congestion
	// (say from a thumbnail to 360p) only fits if the line has changed;
	// trying it costs a second or two of loss, so it waits longer.
	c.beyond = c.congestion > 0 && next > c.congestion*11/10
	if c.beyond {
		c.beyondHold = max(c.beyondHold, beyondHoldMin)
		if now.Before(c.decreased.Add(c.beyondHold)) {
			return c.ceiling, false
		}
	}
	c.before, c.ceiling = c.ceiling, min(next, maxBitrate)
	c.probing, c.probeUntil = true, now.Add(probeTime)
	return c.ceiling, false
}

// decrease lowers the ceiling after congestion.
func (c *controller) decrease(now time.Time, s congestionSignals, a allocation, lossy bool) {
	c.decreases++
	// A queue without loss: back off from what is sent. The acknowledged
	// bitrate then says only what was sent (the line was not full), not
	// what the line takes.
	target := a.sent * decreaseFactor / 100
	c.congestion = a.sent
	// The rate of the congestion, what the next steps are measured
	// against, is what arrived when less did than was sent: a queue stood
	// because the line was full at that rate. A layer counted above what
	// the line carried (a 500 kbit/s step after congestion at 260 kbit/s
	// carried, of 460 counted) would otherwise pass for a small step and
	// be tried after the hold, to fail with seconds of loss.
	trusted := s.acked > 0 && s.ackedSpan >= minAckedSpan && s.ackedCount >= minAckedCount
	if trusted && s.acked < a.sent {
		c.congestion = s.acked
	}
	if lossy {
		// Loss: the line takes what arrived; without a measurement of
		// that, at most halve what is sent.
		target = a.sent / 2
		if trusted {
			target = min(s.acked, a.sent) * decreaseFactor / 100
		} else if s.sent > 0 {
			target = max(target, min(s.sent, a.sent)*decreaseFactor/100)
		}
	}
	switch {
	case c.probing && c.beyond:
		target = min(target, c.before)
		c.beyondHold = min(2*c.beyondHold, beyondHoldMax)
	case c.probing:
		// The step did not fit: back to below where it started.
		target = min(target, c.before)
		c.hold = min(2*c.hold, holdMax)
	case c.hold == 0:
		c.hold = holdMin
	}
	c.decreased = now
	if c.ceiling > 0 {
		target = min(target, c.ceiling)
	}
	c.ceiling = max(target, minBitrate)
	c.probing, c.streak, c.starting = false, 0, false
	c.holdUntil = now.Add(c.hold)
	for i := range c.queues {
		c.queues[i] = -1 // the queue and loss are judged afresh once the decrease takes effect
	}
	c.prevLoss = [2]int{}
}
