package loadtest

// ulawEncode encodes linear PCM as G.711 µ-law (ITU-T G.711, the segment form).
func ulawEncode(dst []byte, pcm []int16) {
	for i, s := range pcm {
		dst[i] = ulawByte(s)
	}
}

func ulawByte(s int16) byte {
	const bias, clip = 0x84, 32635
	v := int32(s)
	sign := byte(0)
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, clip) + bias
	exp := byte(7)
	for m := int32(0x4000); v&m == 0 && exp > 0; m >>= 1 {
		exp--
	}
	mant := byte(v>>(exp+3)) & 0x0f
	return ^(sign | exp<<4 | mant)
}

// ulawDecode decodes G.711 µ-law into linear PCM; it returns the sample count.
func ulawDecode(dst []int16, b []byte) int {
	n := min(len(dst), len(b))
	for i := range n {
		u := ^b[i]
		exp := (u >> 4) & 7
		v := (int32(u&0x0f)<<3 + 0x84) << exp
		v -= 0x84
		if u&0x80 != 0 {
			v = -v
		}
		dst[i] = int16(v)
	}
	return n
}
