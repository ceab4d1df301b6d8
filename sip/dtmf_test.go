package sip

import (
	"errors"
	"testing"
)

func dtmfPayload(event byte, end bool, dur uint16) []byte {
	b1 := byte(10) // volume -10 dBm0
	if end {
		b1 |= 0x80
	}
	return []byte{event, b1, byte(dur >> 8), byte(dur)}
}

func TestParseDTMF(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    DTMFEvent
		wantErr error
	}{
		{"digit 5 start", []byte{5, 0x0A, 0x00, 0xA0}, DTMFEvent{Event: 5, Volume: 10, Duration: 160}, nil},
		{"hash end", []byte{11, 0x8A, 0x06, 0x40}, DTMFEvent{Event: 11, End: true, Volume: 10, Duration: 1600}, nil},
		{"reserved bit ignored", []byte{1, 0xC0, 0, 0}, DTMFEvent{Event: 1, End: true}, nil},
		{"extra blocks ignored", []byte{2, 0, 0, 1, 3, 0, 0, 1}, DTMFEvent{Event: 2, Duration: 1}, nil},
		{"short", []byte{1, 0, 0}, DTMFEvent{}, ErrShortDTMF},
		{"empty", nil, DTMFEvent{}, ErrShortDTMF},
	}
	for _, tt := range tests {
		got, err := ParseDTMF(tt.in)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
		}
		if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestDTMFDigit(t *testing.T) {
	tests := []struct {
		event uint8
		want  byte
	}{{0, '0'}, {9, '9'}, {10, '*'}, {11, '#'}, {12, 'A'}, {15, 'D'}, {16, 0}, {200, 0}}
	for _, tt := range tests {
		if got := (DTMFEvent{Event: tt.event}).Digit(); got != tt.want {
			t.Errorf("event %d: got %q, want %q", tt.event, got, tt.want)
		}
	}
}

// pkt is one telephone-event packet as a test feeds it to the detector.
type pkt struct {
	ssrc, ts uint32
	event    byte
	end      bool
	dur      uint16
}

// standardEvent is an RFC 4733 sender: same timestamp for the whole event,
// growing duration, three end packets.
func standardEvent(ssrc, ts uint32, event byte) []pkt {
	var out []pkt
	for d := uint16(160); d <= 800; d += 160 {
		out = append(out, pkt{ssrc, ts, event, false, d})
	}
	for range 3 {
		out = append(out, pkt{ssrc, ts, event, true, 960})
	}
	return out
}

// movingTSEvent is a sender that advances the timestamp within the event
// (in milliseconds, as sipp's play_dtmf does).
func movingTSEvent(ssrc, ts uint32, event byte) []pkt {
	var out []pkt
	for i := uint16(1); i <= 10; i++ {
		out = append(out, pkt{ssrc, ts + uint32(i)*20, event, false, i * 160})
	}
	for i := range 3 {
		out = append(out, pkt{ssrc, ts + 220 + uint32(i)*20, event, true, 1600})
	}
	return out
}

func concat(parts ...[]pkt) []pkt {
	var out []pkt
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestDTMFDetector(t *testing.T) {
	tests := []struct {
		name string
		in   []pkt
		want string
	}{
		{"standard 1234#", concat(standardEvent(7, 1000, 1), standardEvent(7, 2000, 2),
			standardEvent(7, 3000, 3), standardEvent(7, 4000, 4), standardEvent(7, 5000, 11)), "1234#"},
		{"repeated digit", concat(standardEvent(7, 1000, 1), standardEvent(7, 2000, 1)), "11"},
		{"lost start", standardEvent(7, 1000, 5)[3:], "5"},
		{"only end packets", standardEvent(7, 1000, 5)[5:], "5"},
		{"ms timestamps moving", concat(movingTSEvent(9, 100, 1), movingTSEvent(9, 400, 2),
			movingTSEvent(9, 700, 2), movingTSEvent(9, 1000, 11)), "122#"},
		{"two ssrcs", concat(standardEvent(1, 1000, 1), standardEvent(2, 1000, 1)), "11"},
		{"flash and unknown ignored", []pkt{{1, 1, 16, false, 160}, {1, 2, 99, false, 160}}, ""},
		{"retransmitted start after end", concat(standardEvent(7, 1000, 3), standardEvent(7, 1000, 3)[:1]), "3"},
	}
	for _, tt := range tests {
		d := newDTMFDetector()
		var got []byte
		for _, p := range tt.in {
			if c := d.Packet(p.ssrc, p.ts, dtmfPayload(p.event, p.end, p.dur)); c != 0 {
				got = append(got, c)
			}
		}
		if string(got) != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func FuzzParseDTMF(f *testing.F) {
	f.Add([]byte{1, 0x8A, 0x03, 0x20})
	f.Add([]byte{})
	f.Add([]byte{11, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ParseDTMF(b)
		if err != nil {
			if len(b) >= 4 {
				t.Fatalf("error on %d bytes: %v", len(b), err)
			}
			return
		}
		if ev.Volume > 63 {
			t.Fatalf("volume %d > 63", ev.Volume)
		}
		d := newDTMFDetector()
		first := d.Packet(1, 1, b)
		if again := d.Packet(1, 1, b); again != 0 {
			t.Fatalf("same packet twice reported %q then %q", first, again)
		}
	})
}
