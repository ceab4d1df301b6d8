package sfu

import "encoding/binary"

// frameInfo is what the SFU learns from the first bytes of a video RTP
// payload: whether the packet starts a keyframe, and for VP8 keyframes the
// picture size.
type frameInfo struct {
	keyframe      bool // the packet is the first packet of a keyframe
	width, height int  // VP8 keyframe size in pixels; 0 if unknown
}

// parseFrame inspects one RTP payload of codec mime ("video/VP8" or
// "video/H264"). Payloads it does not understand give the zero frameInfo;
// it never panics on short or malformed input.
func parseFrame(mime string, payload []byte) frameInfo {
	switch mime {
	case mimeVP8:
		return parseVP8(payload)
	case mimeH264:
		return frameInfo{keyframe: h264Keyframe(payload)}
	}
	return frameInfo{}
}

const (
	mimeVP8  = "video/VP8"
	mimeH264 = "video/H264"
)

// parseVP8 reads the VP8 payload descriptor (RFC 7741 section 4.2) and, at
// the start of partition 0, the frame tag and keyframe header (RFC 6386
// section 9.1).
func parseVP8(b []byte) frameInfo {
	if len(b) < 1 {
		return frameInfo{}
	}
	x, s, pid := b[0]&0x80 != 0, b[0]&0x10 != 0, b[0]&0x07
	if !s || pid != 0 {
		return frameInfo{} // not the start of partition 0
	}
	i := 1
	if x {
		if len(b) < 2 {
			return frameInfo{}
		}
		ext := b[1]
		i = 2
		if ext&0x80 != 0 { // I: PictureID, 7 or 15 bits
			if len(b) <= i {
				return frameInfo{}
			}
			if b[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if ext&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if ext&0x30 != 0 { // T or K: TID/Y/KEYIDX
			i++
		}
	}
	if len(b) <= i {
		return frameInfo{}
	}
	if b[i]&0x01 != 0 { // P bit: 0 = keyframe
		return frameInfo{}
	}
	info := frameInfo{keyframe: true}
	// 3-byte frame tag, 3-byte start code 9d 01 2a, then 14-bit width and height.
	if h := b[i:]; len(h) >= 10 && h[3] == 0x9d && h[4] == 0x01 && h[5] == 0x2a {
		info.width = int(binary.LittleEndian.Uint16(h[6:8]) & 0x3fff)
		info.height = int(binary.LittleEndian.Uint16(h[8:10]) & 0x3fff)
	}
	return info
}

// h264Keyframe reports whether an H.264 RTP payload (RFC 6184) starts an
// IDR picture or carries a sequence parameter set, which browsers send
// right before one.
func h264Keyframe(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	switch nal := b[0] & 0x1f; nal {
	case 5, 7:
		return true
	case 24: // STAP-A: 16-bit size, NAL unit, repeated
		for i := 1; i+2 < len(b); {
			size := int(binary.BigEndian.Uint16(b[i:]))
			i += 2
			if size == 0 || i >= len(b) {
				return false
			}
			if t := b[i] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += size
		}
	case 28: // FU-A: start bit and the fragmented NAL's type
		return len(b) >= 2 && b[1]&0x80 != 0 && (b[1]&0x1f == 5 || b[1]&0x1f == 7)
	}
	return false
}
