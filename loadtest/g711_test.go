package loadtest

import "testing"

func TestULawRoundTrip(t *testing.T) {
	for _, s := range []int16{0, 1, -1, 100, -100, 1000, -1000, 8000, -8000, 32000, -32000, 32767, -32768} {
		var b [1]byte
		var out [1]int16
		ulawEncode(b[:], []int16{s})
		ulawDecode(out[:], b[:])
		d := int32(out[0]) - int32(s)
		tol := max(int32(s)/16, -int32(s)/16, 8)
		if d > tol || d < -tol {
			t.Errorf("µ-law %d: got %d back, want within %d", s, out[0], tol)
		}
	}
}
