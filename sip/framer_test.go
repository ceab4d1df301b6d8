package sip

import (
	"testing"

	"dialroom/mixer"
)

// seqMember records how frames arrive: with a sequence number or without.
type seqMember struct {
	seqs  []uint16
	plain int
}

func (m *seqMember) Push([]int16)                  { m.plain++ }
func (m *seqMember) PushSeq(seq uint16, _ []int16) { m.seqs = append(m.seqs, seq) }
func (m *seqMember) Leave()                        {}

func TestFramerPassesSequenceNumbers(t *testing.T) {
	var f framer
	m := &seqMember{}
	frame := make([]int16, mixer.NarrowSamples)
	f.push(7, frame, m)
	f.push(9, frame, m) // a gap: the jitter buffer, not the framer, conceals it
	if len(m.seqs) != 2 || m.seqs[0] != 7 || m.seqs[1] != 9 || m.plain != 0 {
		t.Errorf("20 ms packets: got seqs %v and %d plain frames, want [7 9] and 0", m.seqs, m.plain)
	}
	// 10 ms packets are re-framed in arrival order, without numbers.
	half := make([]int16, mixer.NarrowSamples/2)
	for seq := uint16(10); seq < 14; seq++ {
		f.push(seq, half, m)
	}
	if len(m.seqs) != 2 || m.plain != 2 {
		t.Errorf("10 ms packets: got %d numbered and %d plain frames, want 2 (earlier) and 2", len(m.seqs), m.plain)
	}
}
