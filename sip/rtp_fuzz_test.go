package sip

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"dialroom/mixer"
)

// frameCheck is a Membership that checks what the reader hands the room:
// only whole 20 ms frames at 8 or 16 kHz.
type frameCheck struct {
	t      *testing.T
	frames int
}

func (f *frameCheck) Push(pcm []int16) {
	if len(pcm) != mixer.NarrowSamples && len(pcm) != mixer.FrameSamples {
		f.t.Fatalf("a frame of %d samples reached the room", len(pcm))
	}
	f.frames++
}
func (f *frameCheck) Leave() {}

// FuzzRTPReceive feeds datagrams, as they come off the network, through
// everything a call's RTP and RTCP readers do with them (SRTP, headers,
// payload types, latching, RFC 4733 events, G.711/G.722/Opus decoding,
// concealment, framing; RTCP compound packets), for each codec: nothing may
// panic, and only whole frames may reach the room. The input is a series of
// datagrams, each prefixed by its length (2 bytes) and a byte whose low bit
// sends it to the RTCP port instead.
func FuzzRTPReceive(f *testing.F) {
	pkt := func(pt uint8, seq uint16, ts uint32, payload []byte) []byte {
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: 7},
			Payload: payload}).Marshal()
		return b
	}
	series := func(dgrams ...[]byte) []byte {
		var out []byte
		for i, d := range dgrams {
			out = binary.BigEndian.AppendUint16(out, uint16(len(d)))
			out = append(out, byte(i%3/2)) // every third to the RTCP port
			out = append(out, d...)
		}
		return out
	}
	sr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: 7, NTPTime: 1 << 40}})
	f.Add(series(pkt(0, 1, 160, make([]byte, 160)), pkt(101, 2, 320, []byte{1, 10, 0, 160}), sr))
	f.Add(series(pkt(9, 1, 160, make([]byte, 160)), pkt(9, 3, 480, make([]byte, 80)), pkt(111, 4, 960, []byte{0xf8, 0xff, 0xfe})))
	f.Add(series(pkt(111, 10, 960, []byte{0x78}), pkt(111, 13, 3840, []byte{0x78, 1, 2}), pkt(101, 14, 3840, []byte{11, 0x80, 0, 0})))
	f.Add([]byte{0, 3, 0, 0x80, 0, 0})
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range []Codec{PCMU, PCMA, G722, Opus} {
			pt := map[Codec]uint8{PCMU: 0, PCMA: 8, G722: 9, Opus: 111}[c]
			m := Media{Codec: c, PT: pt, EventPT: 101, Remote: from, RTCPMux: c == G722 || c == Opus}
			s := &rtpSession{log: testLogger(), digits: make(chan byte, 32), done: make(chan struct{})}
			s.media.Store(&m)
			s.guard.sdp = from
			s.remote.Store(&from)
			check := &frameCheck{t: t}
			s.SetMembership(check)
			r := newRTPReader(s)
			plain := make([]byte, 1500)
			rest := data
			for len(rest) >= 3 {
				n, toRTCP := int(binary.BigEndian.Uint16(rest)), rest[2]&1 == 1
				rest = rest[3:]
				n = min(n, len(rest))
				d := rest[:n]
				rest = rest[n:]
				if toRTCP {
					s.handleRTCP(d, plain, from)
				} else {
					r.handle(d, from)
				}
			}
			r.close()
		}
	})
}
