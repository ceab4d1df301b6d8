package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// fbEntry is the subscriber's report on one packet: not received, or
// received at arrival (receiver clock, any offset).
type fbEntry struct {
	received bool
	arrival  time.Duration
}

// twccFeedback builds the TWCC feedback a browser sends about packets
// base, base+1, ..., marshalled and parsed again as the SFU reads it.
func twccFeedback(t testing.TB, base uint16, entries []fbEntry) *rtcp.TransportLayerCC {
	t.Helper()
	const unit = 250 * time.Microsecond
	fb := &rtcp.TransportLayerCC{
		Header:             rtcp.Header{Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback},
		MediaSSRC:          1,
		BaseSequenceNumber: base,
		PacketStatusCount:  uint16(len(entries)),
	}
	ref := time.Duration(-1)
	for _, e := range entries {
		if e.received {
			ref = e.arrival / (64 * time.Millisecond) * (64 * time.Millisecond)
			break
		}
	}
	if ref < 0 {
		ref = 0
	}
	fb.ReferenceTime = uint32(ref / (64 * time.Millisecond))
	last := ref
	for i := 0; i < len(entries); i += 7 {
		c := &rtcp.StatusVectorChunk{Type: rtcp.TypeTCCStatusVectorChunk, SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit}
		for j := i; j < i+7; j++ {
			if j >= len(entries) || !entries[j].received {
				c.SymbolList = append(c.SymbolList, rtcp.TypeTCCPacketNotReceived)
				continue
			}
			at := entries[j].arrival / unit * unit
			c.SymbolList = append(c.SymbolList, rtcp.TypeTCCPacketReceivedLargeDelta)
			fb.RecvDeltas = append(fb.RecvDeltas, &rtcp.RecvDelta{Type: rtcp.TypeTCCPacketReceivedLargeDelta,
				Delta: int64((at - last) / time.Microsecond)})
			last = at
		}
		fb.PacketChunks = append(fb.PacketChunks, c)
	}
	n := fb.MarshalSize()
	fb.Header.Padding = n != len(fb.PacketChunks)*2+len(fb.RecvDeltas)*2+20
	fb.Header.Length = uint16(n/4 - 1)
	raw, err := fb.Marshal()
	if err != nil {
		t.Fatalf("marshal feedback: %v", err)
	}
	var out rtcp.TransportLayerCC
	if err := out.Unmarshal(raw); err != nil {
		t.Fatalf("unmarshal feedback: %v", err)
	}
	return &out
}

// TestFeedbackMeter: loss, queuing delay and the acknowledged bitrate come
// out of the feedback; packets sent before the mark do not count for loss
// and delay; a packet reported twice counts once.
func TestFeedbackMeter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := newFeedbackMeter(t0)
	const offset = 7 * time.Second // the receiver's clock is elsewhere
	// 100 packets of 1000 bytes, one per ms; the first 50 arrive after 20
	// ms, the next ones behind a queue growing by 1 ms per packet, and
	// every 10th of those is lost.
	var entries []fbEntry
	for i := range 100 {
		sent := time.Duration(i) * time.Millisecond
		m.onSent(uint16(65500+i), 1000, t0.Add(sent)) // the sequence number wraps
		e := fbEntry{received: true, arrival: offset + sent + 20*time.Millisecond}
		if i >= 50 {
			e.arrival += time.Duration(i-49) * time.Millisecond
			e.received = i%10 != 5
		}
		entries = append(entries, e)
	}
	m.onFeedback(twccFeedback(t, 65500, entries[:60]), t0.Add(100*time.Millisecond))
	m.onFeedback(twccFeedback(t, 65500-65536+60, entries[60:]), t0.Add(150*time.Millisecond))
	m.onFeedback(twccFeedback(t, 65500-65536+60, entries[60:]), t0.Add(160*time.Millisecond)) // a repeat
	s := m.take(t0.Add(200 * time.Millisecond))
	if !s.feedback || s.reported != 100 || s.lost != 5 {
		t.Errorf("feedback %v, %d reported, %d lost; want true, 100, 5", s.feedback, s.reported, s.lost)
	}
	if s.queue < 0 || s.queue > time.Millisecond {
		t.Errorf("smallest queuing delay %v, want 0 (the first packets met no queue)", s.queue)
	}
	// 95 packets of 1000 bytes arrived over 149 ms: ~5 Mbit/s.
	if s.acked < 4_800_000 || s.acked > 5_300_000 {
		t.Errorf("acknowledged %d bit/s, want about 5 Mbit/s", s.acked)
	}
	if s.sent < 3_900_000 || s.sent > 4_100_000 {
		t.Errorf("sent %d bit/s over 200 ms, want 4 Mbit/s", s.sent)
	}

	// Mark: only packets sent from now on count; the queue is 30 ms.
	m.setMark(t0.Add(time.Second))
	entries = entries[:0]
	for i := range 30 {
		sent := 900*time.Millisecond + time.Duration(i)*10*time.Millisecond
		m.onSent(uint16(100+i), 1000, t0.Add(sent))
		entries = append(entries, fbEntry{received: i < 20 || i%2 == 0, arrival: offset + sent + 50*time.Millisecond})
	}
	m.onFeedback(twccFeedback(t, 100, entries), t0.Add(1300*time.Millisecond))
	s = m.take(t0.Add(1300 * time.Millisecond))
	if s.reported != 20 || s.lost != 5 {
		t.Errorf("after the mark: %d reported, %d lost; want 20, 5", s.reported, s.lost)
	}
	if s.queue < 29*time.Millisecond || s.queue > 31*time.Millisecond {
		t.Errorf("after the mark: queue %v, want 30ms", s.queue)
	}
	if s := m.take(t0.Add(1700 * time.Millisecond)); s.feedback || s.reported != 0 || s.queue != -1 || s.acked == 0 {
		t.Errorf("an interval without feedback: %+v; want no loss or delay, the acknowledged bitrate of the last intervals", s)
	}
}

// step is a fixed next step for controller tests.
func fixedStep(by int) func(int) int { return func(c int) int { return c + by } }

// TestControllerLossBurst: a burst of loss, with a queue or a receiver
// report to confirm it, lowers the ceiling to 85 % of what the subscriber
// acknowledged; the ceiling then holds. Loss on a few packets is not
// congestion.
func TestControllerLossBurst(t *testing.T) {
	var c controller
	now := time.Unix(1000, 0)
	a := allocation{sent: 2_000_000, want: 2_000_000, step: fixedStep(300_000)}
	clean := congestionSignals{feedback: true, reported: 100, queue: 2 * time.Millisecond, acked: 2_000_000,
		ackedSpan: 500 * time.Millisecond, ackedCount: 100, sent: 2_000_000}
	if got, dec := c.update(now, clean, 0, a); got != 0 || dec {
		t.Fatalf("clean: ceiling %d (decrease %v), want none", got, dec)
	}
	few := clean
	few.reported, few.lost = 4, 2 // 50 %, but of four packets
	if got, _ := c.update(now, few, 0, a); got != 0 {
		t.Errorf("2 of 4 packets lost: ceiling %d, want none", got)
	}
	burst := clean
	burst.lost, burst.acked = 30, 1_000_000
	// Loss without a queue or a receiver report of it: a receiver that
	// reads its streams late (pion) reports as lost what arrived.
	if got, dec := c.update(now, burst, 0, a); got != 0 || dec {
		t.Fatalf("unconfirmed loss: ceiling %d (decrease %v), want none", got, dec)
	}
	if got, dec := (&controller{}).update(now, burst, 20, a); got != 850_000 || !dec {
		t.Errorf("loss confirmed by a receiver report: ceiling %d (decrease %v), want 850000", got, dec)
	}
	burst.queue = 40 * time.Millisecond
	got, dec := c.update(now, burst, 0, a)
	if want := 850_000; got != want || !dec {
		t.Fatalf("loss burst: ceiling %d (decrease %v), want %d", got, dec, want)
	}
	a.sent = 800_000
	clean.acked, clean.sent = 800_000, 800_000
	for d := time.Duration(0); d < holdMin; d += allocInterval {
		if got, _ := c.update(now.Add(d), clean, 0, a); got != 850_000 {
			t.Fatalf("%v after the decrease: ceiling %d, want the hold at 850000", d, got)
		}
	}
	// The line carried 1 Mbit/s at the congestion: a step to 1.15 Mbit/s
	// waits beyondHoldMin, one to 0.95 Mbit/s only the hold.
	beyond := c
	if got, _ := beyond.update(now.Add(holdMin), clean, 0, a); got != 850_000 {
		t.Errorf("after the hold, a step well past the congestion: ceiling %d, want 850000 until %v", got, beyondHoldMin)
	}
	if got, _ := beyond.update(now.Add(beyondHoldMin), clean, 0, a); got != 1_150_000 {
		t.Errorf("%v after the congestion: ceiling %d, want one step up to 1150000", beyondHoldMin, got)
	}
	a.step = fixedStep(100_000)
	if got, _ := c.update(now.Add(holdMin), clean, 0, a); got != 950_000 {
		t.Errorf("after the hold: ceiling %d, want one step up to 950000", got)
	}
}

// TestControllerDelay: a queue that grows steadily (still short) is
// congestion, as is a standing queue; a standing queue that drains after
// a decrease is not.
func TestControllerDelay(t *testing.T) {
	now := time.Unix(1000, 0)
	a := allocation{sent: 1_000_000, want: 1_000_000}
	sig := func(q time.Duration) congestionSignals {
		return congestionSignals{feedback: true, reported: 50, queue: q, acked: 900_000,
			ackedSpan: 500 * time.Millisecond, ackedCount: 50, sent: 1_000_000}
	}
	var c controller
	for i, q := range []time.Duration{2, 8, 20, 34, 50} {
		got, dec := c.update(now, sig(q*time.Millisecond), 0, a)
		if wantDec := i == 4; dec != wantDec {
			t.Fatalf("queue growing, interval %d (%v): decrease %v, want %v", i, q*time.Millisecond, dec, wantDec)
		}
		if i == 4 && got != 850_000 {
			t.Errorf("queue growth: ceiling %d, want 850000 (85 %% of what is sent)", got)
		}
	}
	c = controller{}
	for i, q := range []time.Duration{5, 20, 15, 10, 8} { // jitter, no trend
		if _, dec := c.update(now, sig(q*time.Millisecond), 0, a); dec {
			t.Errorf("queue without a trend, interval %d: decrease", i)
		}
	}
	c = controller{}
	if _, dec := c.update(now, sig(120*time.Millisecond), 0, a); dec {
		t.Fatal("queue of 120 ms in one interval (a burst): decrease")
	}
	if _, dec := c.update(now, sig(120*time.Millisecond), 0, a); !dec {
		t.Fatal("standing queue of 120 ms: no decrease")
	}
	for i, q := range []time.Duration{110, 90, 70, 40} { // drains after the decrease
		if _, dec := c.update(now.Add(time.Second), sig(q*time.Millisecond), 0, a); dec {
			t.Errorf("draining queue, interval %d (%v): decrease", i, q*time.Millisecond)
		}
	}
	if _, dec := c.update(now.Add(2*time.Second), sig(40*time.Millisecond), 0, a); dec {
		t.Error("queue of 40 ms, steady: decrease")
	}
	if _, dec := c.update(now.Add(3*time.Second), sig(80*time.Millisecond), 0, a); dec {
		t.Error("queue up to 80 ms, one interval: decrease")
	}
	if _, dec := c.update(now.Add(3*time.Second), sig(80*time.Millisecond), 0, a); !dec {
		t.Error("queue stands at 80 ms: no decrease")
	}
}

// TestControllerProbe: on a clean line the ceiling steps up, faster after
// clean steps in a row, until it no longer limits; a failed step falls
// back and doubles the hold.
func TestControllerProbe(t *testing.T) {
	now := time.Unix(1000, 0)
	c := controller{ceiling: 1_000_000, hold: holdMin}
	a := allocation{sent: 1_000_000, want: 5_000_000, step: fixedStep(100_000)}
	clean := congestionSignals{feedback: true, reported: 50, queue: time.Millisecond}
	var steps []int
	for at := time.Duration(0); at < time.Minute && c.ceiling != 0; at += allocInterval {
		prev := c.ceiling
		if got, _ := c.update(now.Add(at), clean, 0, a); got > prev {
			steps = append(steps, got)
		}
		a.sent = c.ceiling
	}
	want := []int{1_100_000, 1_375_000, 2_062_500, 3_093_750, 4_640_625, 6_960_937}
	if !equalInts(steps, want) || c.ceiling != 0 {
		t.Errorf("steps %v, ceiling at the end %d; want %v, then no limit", steps, c.ceiling, want)
	}

	c = controller{ceiling: 1_000_000, hold: holdMin}
	a = allocation{sent: 1_000_000, want: 5_000_000, step: fixedStep(200_000)}
	if got, _ := c.update(now, clean, 0, a); got != 1_200_000 {
		t.Fatalf("probe: ceiling %d, want 1200000", got)
	}
	a.sent = 1_200_000
	lossy := clean
	lossy.lost, lossy.acked, lossy.ackedSpan, lossy.ackedCount = 20, 1_300_000, time.Second, 100
	lossy.queue = 30 * time.Millisecond
	if got, dec := c.update(now.Add(time.Second), lossy, 0, a); got != 1_000_000 || !dec {
		t.Errorf("failed probe: ceiling %d (decrease %v), want back to 1000000", got, dec)
	}
	if c.hold != 2*holdMin {
		t.Errorf("hold after a failed probe %v, want %v", c.hold, 2*holdMin)
	}
}

// TestControllerFallbacks: without TWCC feedback, receiver-report loss
// halves what is sent; a REMB caps the ceiling (less the audio).
func TestControllerFallbacks(t *testing.T) {
	now := time.Unix(1000, 0)
	b := &bandwidthEstimate{}
	a := allocation{sent: 2_000_000, want: 2_000_000}
	if got := b.budget(now, a, 100_000); got != 0 {
		t.Errorf("nothing known: budget %d, want none", got)
	}
	b.reportLoss(40)
	if got := b.budget(now, a, 100_000); got != 1_000_000 {
		t.Errorf("receiver reports 16 %% loss: budget %d, want half of what is sent", got)
	}
	b.remb.Store(600_000)
	if got := b.budget(now.Add(time.Second), a, 100_000); got != 500_000 {
		t.Errorf("REMB 600 kbit/s: budget %d, want 500000 for video", got)
	}
}

// TestRetransmissionAllowance: retransmissions may add a quarter of the new
// video sent; a storm of NACKs beyond that is not answered.
func TestRetransmissionAllowance(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := newFeedbackMeter(t0)
	seq, twcc := uint16(0), uint16(0)
	// 1 Mbit/s of new video for 2 s: 1000-byte packets every 8 ms.
	now := t0
	for i := range 250 {
		now = t0.Add(time.Duration(i) * 8 * time.Millisecond)
		seq++
		twcc++
		if !m.send(7, seq, twcc, true, 1000, now) {
			t.Fatalf("new packet %d held back", i)
		}
		if i%62 == 61 {
			m.take(now)
		}
	}
	// Every packet of the last second NACKed at once, twice.
	sent := 0
	for range 2 {
		for s := seq - 124; s != seq+1; s++ {
			twcc++
			if m.send(7, s, twcc, true, 1000, now) {
				sent++
			}
		}
	}
	// The allowance: about 250 kbit/s, of which 250 ms at once: ~8 KB.
	if sent < 5 || sent > 10 {
		t.Errorf("%d of 250 retransmissions sent at once, want the burst allowance of about 8", sent)
	}
	// A second later the allowance has refilled by about 31 KB, but at
	// most to its burst.
	now = now.Add(time.Second)
	sent = 0
	for s := seq - 124; s != seq+1; s++ {
		twcc++
		if m.send(7, s, twcc, true, 1000, now) {
			sent++
		}
	}
	if sent < 5 || sent > 10 {
		t.Errorf("after a second: %d retransmissions sent, want about 8", sent)
	}
	if !m.send(8, 1, twcc+1, true, 1000, now) || !m.send(7, seq+1, twcc+2, true, 1000, now) {
		t.Error("new packets held back with the allowance spent")
	}
	if got := m.totals()[4]; got == 0 {
		t.Error("no retransmission counted as held back")
	}
}

// FuzzTWCCFeedback: whatever a subscriber sends as transport-wide
// congestion control feedback, the meter neither panics nor reports more
// lost than reported packets.
func FuzzTWCCFeedback(f *testing.F) {
	t0 := time.Unix(1000, 0)
	var entries []fbEntry
	for i := range 20 {
		entries = append(entries, fbEntry{received: i%3 != 0, arrival: time.Duration(i) * 3 * time.Millisecond})
	}
	good := twccFeedback(f, 5, entries)
	raw, err := good.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := rtcp.Unmarshal(b)
		if err != nil {
			return
		}
		m := newFeedbackMeter(t0)
		for i := range 40 {
			m.send(1, uint16(i), uint16(i), true, 1200, t0.Add(time.Duration(i)*time.Millisecond))
		}
		for _, p := range pkts {
			if fb, ok := p.(*rtcp.TransportLayerCC); ok {
				m.onFeedback(fb, t0.Add(time.Second))
			}
		}
		s := m.take(t0.Add(time.Second))
		if s.lost < 0 || s.lost > s.reported || s.reported > 40 {
			t.Errorf("%d lost of %d reported (40 sent)", s.lost, s.reported)
		}
	})
}

// TestWithoutExtension: the transport-wide sequence number of a forwarded
// audio packet is removed, the audio level kept, and the array the read
// packet's extensions live in is left as it was.
func TestWithoutExtension(t *testing.T) {
	var read rtp.Header
	if err := read.SetExtension(3, []byte{0x12, 0x34}); err != nil {
		t.Fatal(err)
	}
	if err := read.SetExtension(AudioLevelID, []byte{0x85}); err != nil {
		t.Fatal(err)
	}
	sent := read // the sender's copy shares the extensions' array
	withoutExtension(&sent, 3)
	if sent.GetExtension(3) != nil || len(sent.GetExtension(AudioLevelID)) != 1 {
		t.Errorf("sent: transport-wide %v, level %v; want none and the level", sent.GetExtension(3), sent.GetExtension(AudioLevelID))
	}
	if len(read.GetExtension(3)) != 2 || len(read.GetExtension(AudioLevelID)) != 1 || len(read.Extensions) != 2 {
		t.Errorf("the read packet changed: %v", read.Extensions)
	}
	withoutExtension(&sent, 3) // nothing left to remove
	if len(sent.Extensions) != 1 {
		t.Errorf("second removal: %d extensions, want 1", len(sent.Extensions))
	}
}

// TestControllerSlowStart: a subscriber whose tiles ask for much starts at
// startCeiling, doubles on clean feedback only, and drops the ceiling
// once the tiles get what they ask for.
func TestControllerSlowStart(t *testing.T) {
	now := time.Unix(1000, 0)
	var c controller
	a := allocation{want: 9_000_000}
	none := congestionSignals{queue: -1}
	clean := congestionSignals{feedback: true, reported: 40, queue: time.Millisecond}
	if got, _ := c.update(now, none, 0, a); got != startCeiling {
		t.Fatalf("start: ceiling %d, want %d", got, startCeiling)
	}
	a.sent = startCeiling
	if got, _ := c.update(now.Add(startStep), none, 0, a); got != startCeiling {
		t.Errorf("no feedback yet: ceiling %d, want %d", got, startCeiling)
	}
	lossy := clean
	lossy.lost, lossy.queue = 20, -1 // loss without a queue to confirm it
	if got, _ := c.update(now.Add(startStep), lossy, 0, a); got != startCeiling {
		t.Errorf("feedback with 50 %% loss: ceiling %d, want %d", got, startCeiling)
	}
	var got int
	for i := 2; i < 8 && (i == 2 || got != 0); i++ {
		got, _ = c.update(now.Add(time.Duration(i)*startStep), clean, 0, a)
		a.sent = got
	}
	if got != 0 || c.starting {
		t.Errorf("after clean doublings: ceiling %d (starting %v), want none", got, c.starting)
	}
	var small controller
	if got, _ := small.update(now, none, 0, allocation{want: startCeiling}); got != 0 {
		t.Errorf("tiles ask for %d: ceiling %d, want none", startCeiling, got)
	}
}

// TestControllerQueueCongestionRate: after a standing queue while the line
// carried less than the allocator counted (a layer measured at 460 kbit/s
// of which 260 arrived), a step to the next layer (500 kbit/s) goes well
// past what the line carried: it waits beyondHoldMin, not just the hold.
func TestControllerQueueCongestionRate(t *testing.T) {
	now := time.Unix(1000, 0)
	a := allocation{sent: 460_000, want: 1_500_000, step: func(c int) int { return 500_000 }}
	sig := congestionSignals{feedback: true, reported: 40, queue: 400 * time.Millisecond, acked: 260_000,
		ackedSpan: 1500 * time.Millisecond, ackedCount: 50, sent: 320_000}
	c := controller{started: true}
	c.update(now, sig, 0, a)
	got, dec := c.update(now.Add(allocInterval), sig, 0, a)
	if !dec || got != 391_000 {
		t.Fatalf("standing queue: ceiling %d (decrease %v), want 391000 (85 %% of what was sent)", got, dec)
	}
	a.sent = 150_000 // the lowest layer
	clean := congestionSignals{feedback: true, reported: 20, queue: time.Millisecond, acked: 150_000,
		ackedSpan: 1500 * time.Millisecond, ackedCount: 20, sent: 150_000}
	for d := allocInterval; d < beyondHoldMin; d += allocInterval {
		if got, _ := c.update(now.Add(allocInterval+d), clean, 0, a); got != 391_000 {
			t.Fatalf("%v after the queue: ceiling %d, want 391000 until %v (the line carried 260 kbit/s)", d, got, beyondHoldMin)
		}
	}
	if got, _ := c.update(now.Add(allocInterval+beyondHoldMin), clean, 0, a); got != 500_000 {
		t.Errorf("%v after the queue: ceiling %d, want a step to 500000", beyondHoldMin, got)
	}
}
