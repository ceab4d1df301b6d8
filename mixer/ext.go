package mixer

import "github.com/pion/rtp"

// audioLevel returns the RFC 6464 client-to-mixer audio level of pkt (0..127,
// -dBov). id is the negotiated extension ID; when it is 0 (unknown), the
// one-byte-header element (RFC 8285 section 4.2) whose data is one byte long is
// taken: among the extensions browsers send with audio (transport-cc: 2 bytes,
// abs-send-time: 3, mid: the MID string) only the audio level has that size,
// except a one-character MID, which the RFC 6464 V bit and range do not
// distinguish; negotiate the ID to be exact.
func audioLevel(pkt *rtp.Packet, id uint8) (uint8, bool) {
	if !pkt.Extension || pkt.ExtensionProfile != rtp.ExtensionProfileOneByte {
		return 0, false
	}
	if id != 0 {
		b := pkt.GetExtension(id)
		if len(b) != 1 {
			return 0, false
		}
		return b[0] & 0x7f, true
	}
	for id := uint8(1); id <= 14; id++ { // the one-byte form's IDs; no allocation
		if b := pkt.GetExtension(id); len(b) == 1 {
			return b[0] & 0x7f, true
		}
	}
	return 0, false
}
