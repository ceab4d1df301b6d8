package sip

// G.711 (ITU-T Rec. G.711) µ-law and A-law codecs. Encoding is computed
// directly, decoding uses two 256-entry tables built once; neither allocates.

const (
	ulawBias = 0x84  // 132: added before the segment search (G.711 µ-law)
	ulawClip = 32635 // largest magnitude that still fits after the bias
)

// ulawTable and alawTable map a code word to its linear value. They are
// filled once at start-up and only read afterwards.
var (
	ulawTable = buildTable(ulawDecode)
	alawTable = buildTable(alawDecode)
)

func buildTable(f func(byte) int16) (t [256]int16) {
	for i := range t {
		t[i] = f(byte(i))
	}
	return t
}

// EncodeULaw writes one µ-law byte per sample of pcm into dst and returns
// the number written (min of both lengths).
func EncodeULaw(dst []byte, pcm []int16) int {
	n := min(len(dst), len(pcm))
	for i := 0; i < n; i++ {
		dst[i] = ulawEncode(pcm[i])
	}
	return n
}

// DecodeULaw writes one sample per µ-law byte of src into dst and returns
// the number written (min of both lengths).
func DecodeULaw(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		dst[i] = ulawTable[src[i]]
	}
	return n
}

// EncodeALaw writes one A-law byte per sample of pcm into dst and returns
// the number written (min of both lengths).
func EncodeALaw(dst []byte, pcm []int16) int {
	n := min(len(dst), len(pcm))
	for i := 0; i < n; i++ {
		dst[i] = alawEncode(pcm[i])
	}
	return n
}

// DecodeALaw writes one sample per A-law byte of src into dst and returns
// the number written (min of both lengths).
func DecodeALaw(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		dst[i] = alawTable[src[i]]
	}
	return n
}

func ulawEncode(sample int16) byte {
	s := int32(sample)
	var sign int32
	if s < 0 {
		sign = 0x80
		s = -s
	}
	if s > ulawClip {
		s = ulawClip
	}
	s += ulawBias
	exp := int32(7)
	for mask := int32(0x4000); s&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (s >> (exp + 3)) & 0x0F
	return ^byte(sign | exp<<4 | mant)
}

func ulawDecode(u byte) int16 {
	u = ^u
	exp := int32(u>>4) & 0x07
	s := ((int32(u&0x0F) << 3) + ulawBias) << exp
	s -= ulawBias
	if u&0x80 != 0 {
		s = -s
	}
	return int16(s)
}

// alawSegEnd are the upper bounds of the eight A-law segments (13-bit input).
var alawSegEnd = [8]int32{0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF}

func alawEncode(sample int16) byte {
	v := int32(sample) >> 3
	mask := int32(0xD5)
	if v < 0 {
		mask = 0x55
		v = -v - 1
	}
	seg := 0
	for seg < 8 && v > alawSegEnd[seg] {
		seg++
	}
	if seg >= 8 {
		return byte(0x7F ^ mask)
	}
	a := int32(seg) << 4
	if seg < 2 {
		a |= (v >> 1) & 0x0F
	} else {
		a |= (v >> seg) & 0x0F
	}
	return byte(a ^ mask)
}

func alawDecode(a byte) int16 {
	a ^= 0x55
	t := int32(a&0x0F) << 4
	seg := int32(a&0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}
