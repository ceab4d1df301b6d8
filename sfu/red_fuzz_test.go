package sfu

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
)

// FuzzParseRED: any payload a browser sends either parses into blocks that
// cover it exactly (and re-encode to the same bytes) or is refused with an
// error; slotPayloads never fails on it.
func FuzzParseRED(f *testing.F) {
	f.Add([]byte{opusPayloadType, 0xf8, 0xff, 0xfe})
	f.Add(append(append(redHdr(960, 3), opusPayloadType), 1, 2, 3, 4, 5))
	f.Add(append(append(redHdr(1920, 1), redHdr(960, 1)...), opusPayloadType, 1, 2, 3))
	f.Add(append(redHdr(960, 1000), opusPayloadType))
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, payload []byte) {
		blocks, err := parseRED(payload, nil)
		if err != nil {
			if len(blocks) != 0 {
				t.Fatalf("%d blocks with error %v", len(blocks), err)
			}
		} else {
			if len(blocks) == 0 || len(blocks) > maxREDBlocks+1 {
				t.Fatalf("%d blocks", len(blocks))
			}
			size := 1 + 4*(len(blocks)-1)
			for _, b := range blocks {
				size += len(b.data)
				if b.tsOffset >= 1<<14 || b.pt > 0x7f {
					t.Fatalf("block %+v out of range", b)
				}
			}
			if size != len(payload) {
				t.Fatalf("blocks cover %d bytes of %d", size, len(payload))
			}
			if again := appendRED(nil, blocks); !bytes.Equal(again, payload) {
				t.Fatalf("re-encoded %x, want %x", again, payload)
			}
		}
		var sp slotPayloads
		for _, pt := range []uint8{redPayloadType, opusPayloadType} {
			pkt := &rtp.Packet{Header: rtp.Header{PayloadType: pt, SequenceNumber: 7, Timestamp: 96000}, Payload: payload}
			if sp.prepare(pkt, 1) && len(payload) > 0 {
				if _, err := parseRED(sp.redFrom(95040), nil); err != nil {
					t.Fatalf("slot RED for %x does not parse: %v", payload, err)
				}
			}
		}
	})
}
