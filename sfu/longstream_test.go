package sfu

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// A subscriber that stays on one layer for more than half the 16-bit
// sequence space (about 7 minutes of 720p) keeps receiving every packet,
// late ones included, and its NACKs still map to the right packets.
// Counting a segment's length instead of comparing numbers with its start
// is what keeps this right across the wrap: compared with the start, new
// packets from the 61,440th on looked like late packets from before the
// switch (dropped for 4,096 packets), and NACKs from the 32,768th on
// matched no segment.
func TestLongSegment(t *testing.T) {
	out := newVideoOut(nil, "cam", webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}})
	d := newDownTrack(out, &Peer{kicks: make(chan struct{}, 1)}, nil)
	d.setTarget(1)
	now := time.Unix(1000, 0)
	const first, total = 40000, 140000
	forwarded := 0
	for i := range total {
		seq := uint16(first + i)
		h := rtp.Header{SequenceNumber: seq, Timestamp: uint32(i) * 3000}
		if _, ok, _ := d.rewrite(1, &h, i == 0, now); ok {
			forwarded++
		} else {
			t.Fatalf("packet %d of the layer (seq %d) not forwarded", i, seq)
		}
		if i >= 10000 && i%10000 == 5 {
			// A late packet, 3 behind the newest: forwarded too.
			late := rtp.Header{SequenceNumber: seq - 3, Timestamp: uint32(i-3) * 3000}
			if _, ok, _ := d.rewrite(1, &late, false, now); !ok {
				t.Fatalf("late packet after %d packets on the layer dropped", i)
			}
			// A NACK for a recent packet maps back to it.
			outSeq := seq + d.seqOff - 7
			layer, in, _, ok := d.source(outSeq)
			if !ok || layer != 1 || in != seq-7 {
				t.Fatalf("after %d packets: NACK of %d mapped to layer %d seq %d (ok %v), want layer 1 seq %d",
					i, outSeq, layer, in, ok, seq-7)
			}
		}
		now = now.Add(7 * time.Millisecond)
	}
	if forwarded != total {
		t.Fatalf("forwarded %d of %d", forwarded, total)
	}
}

// A switch after a long segment: a NACK from before the switch maps to
// the old layer, one after it to the new.
func TestSourceAcrossSwitchAfterLongSegment(t *testing.T) {
	out := newVideoOut(nil, "cam", webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}})
	d := newDownTrack(out, &Peer{kicks: make(chan struct{}, 1)}, nil)
	d.setTarget(0)
	now := time.Unix(1000, 0)
	send := func(l int, seq uint16, key bool) uint16 {
		h := rtp.Header{SequenceNumber: seq, Timestamp: uint32(seq) * 3000}
		o, ok, _ := d.rewrite(l, &h, key, now)
		if !ok {
			t.Fatalf("layer %d seq %d not forwarded", l, seq)
		}
		now = now.Add(10 * time.Millisecond)
		return o.SequenceNumber
	}
	var lastQ uint16
	for i := range 50000 {
		lastQ = send(0, uint16(i), i == 0)
	}
	d.setTarget(2)
	firstF := send(2, 9000, true)
	send(2, 9001, false)
	if layer, in, _, ok := d.source(lastQ - 2); !ok || layer != 0 || in != uint16(49997) {
		t.Errorf("NACK before the switch: layer %d seq %d (ok %v), want layer 0 seq 49997", layer, in, ok)
	}
	if layer, in, _, ok := d.source(firstF + 1); !ok || layer != 2 || in != 9001 {
		t.Errorf("NACK after the switch: layer %d seq %d (ok %v), want layer 2 seq 9001", layer, in, ok)
	}
}

// The RTX writer takes a jump back in the numbering (more than lateWindow)
// for new media, not for a retransmission of everything that follows.
func TestRTXWriterJumpBack(t *testing.T) {
	var rtx, media int
	next := interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
		if h.SSRC == 2222 {
			rtx++
		} else {
			media++
		}
		return 0, nil
	})
	w := newRTXWriter(2222, 97, next)
	for _, seq := range []uint16{30000, 30001, 30002, 1000, 1001, 1002, 1001} {
		h := rtp.Header{SSRC: 1111, SequenceNumber: seq}
		_, _ = w.Write(&h, []byte{1}, nil)
	}
	if media != 6 || rtx != 1 {
		t.Errorf("media %d, rtx %d; want 6 media (the jump is new media) and 1 RTX (the repeated 1001)", media, rtx)
	}
}

// A repair keeps its number out of NACKs for repairMemory only: after the
// numbering wrapped, the same number lost again is asked for.
func TestRepairLogForgets(t *testing.T) {
	var l repairLog
	t0 := time.Unix(1000, 0)
	l.add(4242, t0)
	if !l.has(4242, t0.Add(time.Second)) {
		t.Error("a repair 1 s ago is not remembered")
	}
	if l.has(4242+1024, t0.Add(time.Second)) {
		t.Error("another number in the same slot counts as repaired")
	}
	if l.has(4242, t0.Add(repairMemory+time.Second)) {
		t.Error("a repair is remembered past repairMemory")
	}
}

// A publisher's packet older than what the layer's cache keeps is not
// stored over a newer one, and not forwarded.
func TestCacheRefusesTooOld(t *testing.T) {
	c := &packetCache{size: 128}
	for seq := uint16(1000); seq < 1200; seq++ {
		c.add(&rtp.Header{SequenceNumber: seq}, []byte{byte(seq)}, false)
	}
	if c.add(&rtp.Header{SequenceNumber: 1199 - 128}, []byte{0}, true) {
		t.Error("a packet 128 behind the newest was stored over the newest")
	}
	if _, _, p, ok := c.get(1199); !ok || p[0] != byte(1199&0xff) {
		t.Error("the newest packet was overwritten")
	}
	if !c.add(&rtp.Header{SequenceNumber: 1199 - 127, Timestamp: 1}, []byte{0}, true) {
		t.Error("a late packet within the cache (new timestamp) was refused")
	}
}
