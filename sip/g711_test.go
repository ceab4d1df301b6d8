package sip

import "testing"

func TestULawKnownValues(t *testing.T) {
	tests := []struct {
		pcm  int16
		code byte
	}{
		{0, 0xFF}, {-1, 0x7F}, {1, 0xFF}, {32767, 0x80}, {-32768, 0x00},
		{8031, 0xA0}, {-8031, 0x20}, {132, 0xEF}, {-132, 0x6F},
	}
	for _, tt := range tests {
		if got := ulawEncode(tt.pcm); got != tt.code {
			t.Errorf("ulawEncode(%d) = %#02x, want %#02x", tt.pcm, got, tt.code)
		}
	}
	decodes := []struct {
		code byte
		pcm  int16
	}{{0xFF, 0}, {0x7F, 0}, {0x80, 32124}, {0x00, -32124}, {0x90, 15996}, {0xEF, 132}}
	for _, tt := range decodes {
		if got := ulawTable[tt.code]; got != tt.pcm {
			t.Errorf("decode µ-law %#02x = %d, want %d", tt.code, got, tt.pcm)
		}
	}
}

func TestALawKnownValues(t *testing.T) {
	tests := []struct {
		pcm  int16
		code byte
	}{
		{0, 0xD5}, {-1, 0x55}, {32767, 0xAA}, {-32768, 0x2A}, {16, 0xD4}, {-17, 0x54},
	}
	for _, tt := range tests {
		if got := alawEncode(tt.pcm); got != tt.code {
			t.Errorf("alawEncode(%d) = %#02x, want %#02x", tt.pcm, got, tt.code)
		}
	}
	decodes := []struct {
		code byte
		pcm  int16
	}{{0xD5, 8}, {0x55, -8}, {0xD4, 24}, {0xAA, 32256}, {0x2A, -32256}}
	for _, tt := range decodes {
		if got := alawTable[tt.code]; got != tt.pcm {
			t.Errorf("decode A-law %#02x = %d, want %d", tt.code, got, tt.pcm)
		}
	}
}

// Every code word must survive decode -> encode unchanged (except µ-law's
// two zeros, 0x7F and 0xFF, which both decode to 0).
func TestG711CodeRoundTrip(t *testing.T) {
	for i := 0; i < 256; i++ {
		c := byte(i)
		if got := ulawEncode(ulawTable[c]); got != c && !(c == 0x7F && got == 0xFF) {
			t.Errorf("µ-law %#02x -> %d -> %#02x, want %#02x", c, ulawTable[c], got, c)
		}
		if got := alawEncode(alawTable[c]); got != c {
			t.Errorf("A-law %#02x -> %d -> %#02x, want %#02x", c, alawTable[c], got, c)
		}
	}
}

// Encoding then decoding a linear sample must stay within the quantisation
// step of its segment (G.711: at most 1/16 of the magnitude, plus a floor).
func TestG711SampleRoundTrip(t *testing.T) {
	for s := -32768; s <= 32767; s += 7 {
		for _, c := range []struct {
			name string
			enc  func(int16) byte
			dec  *[256]int16
		}{{"µ-law", ulawEncode, &ulawTable}, {"A-law", alawEncode, &alawTable}} {
			got := int(c.dec[c.enc(int16(s))])
			diff := got - s
			if diff < 0 {
				diff = -diff
			}
			abs := s
			if abs < 0 {
				abs = -abs
			}
			if limit := abs/16 + 40; diff > limit {
				t.Fatalf("%s %d -> %d: error %d, want <= %d", c.name, s, got, diff, limit)
			}
		}
	}
}

func TestG711NoAllocs(t *testing.T) {
	pcm := make([]int16, 160)
	buf := make([]byte, 160)
	for i := range pcm {
		pcm[i] = int16(i * 200)
	}
	allocs := testing.AllocsPerRun(100, func() {
		EncodeULaw(buf, pcm)
		DecodeULaw(pcm, buf)
		EncodeALaw(buf, pcm)
		DecodeALaw(pcm, buf)
	})
	if allocs != 0 {
		t.Errorf("allocs per frame = %v, want 0", allocs)
	}
}

func BenchmarkEncodeULaw(b *testing.B) {
	pcm := make([]int16, 160)
	buf := make([]byte, 160)
	for b.Loop() {
		EncodeULaw(buf, pcm)
	}
}
