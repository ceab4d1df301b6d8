package sfu

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Audio slots. With audio last-N at A > 0, a browser subscriber does not
// receive one audio track per other browser participant: it receives
// exactly A audio tracks, the room's slots, added to its PeerConnection
// before its first offer. The room maps its audible set (speaker.go) onto
// slot indexes and forwards an audible publisher's Opus packets on its slot
// to every browser except the publisher itself. A browser joining or
// leaving therefore renegotiates nobody for audio, and a subscriber's SDP
// and the room's transceivers no longer grow with the room (A per browser
// instead of N−1). Phone callers keep a track of their own (phone.go).
//
// Each subscriber sees one continuous stream per slot whoever occupies it:
// the slot rewrites sequence numbers and timestamps per subscriber
// (slotRewriter), so a change of occupant looks like the end of a pause.

// SlotStreamID is the stream ID (the msid) of every slot track; a client
// recognises slot audio by it. Slot track IDs are "audio-slot-0" to
// "audio-slot-<A−1>".
const SlotStreamID = "audio-slots"

// slotTrackID returns the track ID of slot i.
func slotTrackID(i int) string { return fmt.Sprintf("audio-slot-%d", i) }

// opusFrame is one 20 ms Opus frame in 48 kHz RTP timestamp units; a slot
// advances its timestamps in whole frames across a change of occupant.
const opusFrame = 960

// slotRef names the slot a publisher occupies: its index and the
// occupancy's generation, which grows with every change of occupant of
// any slot in the room.
type slotRef struct {
	index int
	gen   uint64
}

// audioSlots is a room's audio slots and the browsers that receive them.
type audioSlots struct {
	slots []*audioSlot

	mu   sync.Mutex                 // serialises changes of subs
	subs atomic.Pointer[[]*slotSub] // copy on write; read per packet without mu
}

// audioSlot is one slot's forwarding state.
type audioSlot struct {
	// mu is held while one packet goes out to every subscriber: it orders
	// the writes of the slot's old and new occupant, and it guards the
	// subscribers' rewriters for this slot. Only the occupant's reader
	// takes it for more than a moment, so it is rarely contended.
	mu  sync.Mutex
	gen uint64       // newest occupancy forwarded; older ones are dropped
	hdr rtp.Header   // the header being written, reused
	pl  slotPayloads // the packet's Opus and RED forms (red.go)
}

// slotSub is one browser's end of every slot.
type slotSub struct {
	id   string     // the subscribing participant
	outs []*slotOut // by slot index
}

// slotOut is one subscriber's track for one slot. The track binds to RED
// when the subscriber's answer kept it and to Opus otherwise (red.go).
type slotOut struct {
	local *slotTrack
	rw    slotRewriter // guarded by the slot's mu
}

func newAudioSlots(n int) *audioSlots {
	s := &audioSlots{slots: make([]*audioSlot, n)}
	for i := range s.slots {
		s.slots[i] = &audioSlot{}
	}
	s.subs.Store(&[]*slotSub{})
	return s
}

// addTransceivers adds one sendonly transceiver per slot to pc, each with a
// track of its own, and returns the tracks and their senders by slot index.
func (s *audioSlots) addTransceivers(pc *webrtc.PeerConnection) ([]*slotOut, []*webrtc.RTPSender, error) {
	outs := make([]*slotOut, len(s.slots))
	senders := make([]*webrtc.RTPSender, len(s.slots))
	for i := range s.slots {
		local := newSlotTrack(slotTrackID(i))
		tr, err := pc.AddTransceiverFromTrack(local, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return nil, nil, fmt.Errorf("audio slot %d: %w", i, err)
		}
		outs[i] = &slotOut{local: local}
		senders[i] = tr.Sender()
	}
	return outs, senders, nil
}

// add makes browser id receive the slots on outs (from addTransceivers).
func (s *audioSlots) add(id string, outs []*slotOut) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := append(append([]*slotSub(nil), *s.subs.Load()...), &slotSub{id: id, outs: outs})
	s.subs.Store(&next)
}

// remove stops forwarding slot audio to browser id.
func (s *audioSlots) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := *s.subs.Load()
	next := make([]*slotSub, 0, len(cur))
	for _, sub := range cur {
		if sub.id != id {
			next = append(next, sub)
		}
	}
	s.subs.Store(&next)
}

// forward sends publisher from's packet on slot ref to every subscriber but
// the publisher. A packet of an earlier occupancy of the slot (read before
// the occupant changed) is dropped, so the new occupant's stream is not
// interrupted. A subscriber that negotiated RED gets RED (the publisher's,
// or built from its last two frames when it sends plain Opus), the others
// the primary Opus frame, preceded by any lost packet the RED recovers; a
// RED packet that does not parse goes to nobody.
// Writing never blocks on a subscriber.
func (s *audioSlots) forward(ref slotRef, from string, pkt *rtp.Packet, now time.Time) {
	if ref.index < 0 || ref.index >= len(s.slots) {
		return
	}
	sl := s.slots[ref.index]
	subs := *s.subs.Load()
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if ref.gen < sl.gen {
		return
	}
	sl.gen = ref.gen
	if !sl.pl.prepare(pkt, ref.gen) {
		return
	}
	for _, sub := range subs {
		if sub.id == from {
			continue // a publisher never hears itself
		}
		o := sub.outs[ref.index]
		b := o.local.binding()
		if b != nil && !b.red {
			for i := range sl.pl.recovered {
				r := &sl.pl.recovered[i]
				sl.hdr = o.rw.rewrite(&r.hdr, ref.gen, now)
				b.write(&sl.hdr, r.data, nil)
			}
		}
		sl.hdr = o.rw.rewrite(&pkt.Header, ref.gen, now)
		if b == nil {
			continue // not negotiated yet, or closed
		}
		var red []byte
		if b.red {
			red = sl.pl.redFrom(o.rw.start)
		}
		b.write(&sl.hdr, sl.pl.opus, red)
	}
}

// slotRewriter maps one slot's packets, whoever sends them, onto one
// continuous RTP stream for one subscriber. Within an occupancy, sequence
// numbers and timestamps keep the publisher's own steps and gaps (DTX,
// loss) under a fixed offset. At a change of occupant the next packet
// continues the stream: sequence number last+1, timestamp last + the wall
// time since the last packet in whole 20 ms frames (at least one), and the
// marker bit set, as after a silence (RFC 7587 section 4.2), so the
// receiver's jitter buffer resynchronises instead of counting a loss.
//
// RED blocks carry timestamp offsets relative to their packet's timestamp,
// so a fixed timestamp offset keeps them valid; only redundancy older than
// the occupancy's first packet (start) would land on the previous
// occupant's time, and the slot leaves it out (slotPayloads.redFrom).
type slotRewriter struct {
	gen     uint64    // occupancy the offsets belong to; 0 = nothing sent yet
	start   uint32    // the publisher's timestamp of the occupancy's first packet
	seqOff  uint16    // added to the publisher's sequence numbers
	tsOff   uint32    // added to the publisher's timestamps
	lastSeq uint16    // newest sequence number sent
	lastTS  uint32    // its timestamp
	lastAt  time.Time // when it was sent
}

// rewrite returns the header to send for h, a packet of occupancy gen, at now.
func (w *slotRewriter) rewrite(h *rtp.Header, gen uint64, now time.Time) rtp.Header {
	out := *h
	if gen != w.gen {
		seq, ts := h.SequenceNumber, h.Timestamp
		if w.gen != 0 {
			seq = w.lastSeq + 1
			ts = w.lastTS + slotTimestampGap(now.Sub(w.lastAt))
		}
		w.gen, w.seqOff, w.tsOff, w.start = gen, seq-h.SequenceNumber, ts-h.Timestamp, h.Timestamp
		w.lastSeq = seq - 1 // the packet below is the newest
		out.Marker = true
	}
	out.SequenceNumber = h.SequenceNumber + w.seqOff
	out.Timestamp = h.Timestamp + w.tsOff
	if int16(out.SequenceNumber-w.lastSeq) > 0 {
		w.lastSeq, w.lastTS, w.lastAt = out.SequenceNumber, out.Timestamp, now
	}
	return out
}

// slotTimestampGap is elapsed in 48 kHz RTP units, rounded to whole 20 ms
// frames, at least one frame.
func slotTimestampGap(elapsed time.Duration) uint32 {
	frames := (elapsed + 10*time.Millisecond) / (20 * time.Millisecond)
	if frames < 1 {
		frames = 1
	}
	// 2^32 units are 24 hours: a slot silent that long wraps, which a
	// receiver cannot tell from any other timestamp anyway.
	return uint32(int64(frames) * opusFrame)
}
