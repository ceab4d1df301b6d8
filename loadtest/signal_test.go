package loadtest

import (
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/hraban/opus.v2"
)

// TestOnsetDetector: bursts from the mouth are found at the right sample in
// the frames an ear receives, shifted by any delay, and noise is ignored.
func TestOnsetDetector(t *testing.T) {
	for _, shift := range []int{0, 37, 160, 1234} {
		mouth := &source{kind: "noise", mouth: true}
		var stream []int16
		var starts []int
		for f := 0; f < 3*burstPeriod; f++ {
			pcm := make([]int16, frameSamples)
			if mouth.frame(pcm, true, f%burstPeriod == 0) {
				starts = append(starts, f*frameSamples+shift)
			}
			stream = append(stream, pcm...)
		}
		// What the ear receives: line noise, then the stream delayed by shift.
		noise := &source{kind: "noise"}
		head := make([]int16, shift+quietBlocks*rate/200)
		noise.frame(head[:min(len(head), frameSamples)], false, false)
		recv := append(head, stream...)
		var got []int
		d := newOnsetDetector(burstFreq, rate)
		for off := 0; off+frameSamples <= len(recv); off += frameSamples {
			if k := d.feed(recv[off : off+frameSamples]); k >= 0 {
				got = append(got, off+k-len(head)+shift)
			}
		}
		if len(got) != len(starts) {
			t.Fatalf("shift %d: got %d onsets %v, want %d %v", shift, len(got), got, len(starts), starts)
		}
		for i := range got {
			if d := got[i] - starts[i]; d < 0 || d > 8 {
				t.Errorf("shift %d: onset %d at sample %d, want %d (within 1 ms)", shift, i, got[i], starts[i])
			}
		}
	}
}

// burstStream is silence with a 200 ms marker burst at freq starting at
// sample at, sampled at sr, 1 s long.
func burstStream(freq float64, sr, at int) []int16 {
	pcm := make([]int16, sr)
	toneFrame(pcm[at:at+sr/5], freq, burstAmp, sr, 0)
	return pcm
}

// onsets runs a detector of freq over pcm in 20 ms frames and returns the
// sample of every onset it finds.
func onsets(pcm []int16, freq float64, sr int) []int {
	d := newOnsetDetector(freq, sr)
	var got []int
	frame := sr / 50
	for off := 0; off+frame <= len(pcm); off += frame {
		if k := d.feed(pcm[off : off+frame]); k >= 0 {
			got = append(got, off+k)
		}
	}
	return got
}

// TestDetectorsTellTheMouthsApart: at 8 kHz (phones) and 48 kHz (browsers)
// the 2 kHz detector finds a 2 kHz burst and not a 1 kHz one, and the 1 kHz
// detector the other way round, even when both bursts overlap.
func TestDetectorsTellTheMouthsApart(t *testing.T) {
	for _, sr := range []int{rate, opusRate} {
		at := sr / 10 // 100 ms in, not on a block boundary for either rate
		at += 3
		for _, tc := range []struct{ burst, det float64 }{
			{burstFreq, burstFreq}, {browserFreq, browserFreq}, {burstFreq, browserFreq}, {browserFreq, burstFreq},
		} {
			got := onsets(burstStream(tc.burst, sr, at), tc.det, sr)
			if tc.burst != tc.det {
				if len(got) != 0 {
					t.Errorf("%d Hz: a %.0f Hz burst seen by the %.0f Hz detector at %v", sr, tc.burst, tc.det, got)
				}
				continue
			}
			if len(got) != 1 || got[0] < at || got[0] > at+sr/1000 {
				t.Errorf("%d Hz: %.0f Hz burst at sample %d: got onsets %v, want one within 1 ms", sr, tc.burst, at, got)
			}
		}
		// Both at once, the 2 kHz one 50 ms later: each detector finds its own.
		mix := burstStream(burstFreq, sr, at)
		later := burstStream(browserFreq, sr, at+sr/20)
		for i := range mix {
			mix[i] = mix[i]/2 + later[i]/2
		}
		g1, g2 := onsets(mix, burstFreq, sr), onsets(mix, browserFreq, sr)
		// Half amplitude is still above the onset threshold (a quarter).
		if len(g1) != 1 || len(g2) != 1 || g2[0]-g1[0] < sr/20-sr/1000 || g2[0]-g1[0] > sr/20+sr/100 {
			t.Errorf("%d Hz: overlapping bursts 50 ms apart: 1 kHz onsets %v, 2 kHz onsets %v", sr, g1, g2)
		}
	}
}

// TestOpusBurstOnset: the browser mouth's Opus frames, decoded as an ear
// decodes them, show the 2 kHz burst at the frame where it started plus the
// encoder's lookahead, within 1 ms, and the 1 kHz detector sees nothing.
func TestOpusBurstOnset(t *testing.T) {
	var on atomic.Bool
	on.Store(true)
	mk := NewMarkers()
	mk.epoch = time.Unix(1000, 0).Add(-mouthPhase[mouthBrowser])
	mouth, err := newOpusMouth(mk, &on, false)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := opus.NewDecoder(opusRate, 1)
	if err != nil {
		t.Fatal(err)
	}
	// 3 s of frames on a clock that starts 0.5 s before the first slot.
	t0 := time.Unix(999, 500_000_000)
	var starts []int
	var levels []uint8
	var pcm []int16
	out := make([]int16, opusMaxPCM)
	for f := 0; f < 150; f++ {
		payload, level, start := mouth.next(t0.Add(time.Duration(f) * frameDur))
		if start {
			starts = append(starts, f*opusFrame)
		}
		levels = append(levels, level)
		n, err := dec.Decode(payload, out)
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(pcm, out[:n]...)
	}
	if len(starts) != 3 || starts[0] != 25*opusFrame {
		t.Fatalf("bursts started at samples %v, want 3, the first at %d (the slot)", starts, 25*opusFrame)
	}
	got := onsets(pcm, browserFreq, opusRate)
	if len(got) != len(starts) {
		t.Fatalf("2 kHz onsets at %v, want %d", got, len(starts))
	}
	look := int(opusLookahead * opusRate / time.Second)
	for i, s := range starts {
		if d := got[i] - (s + look); d < -opusRate/1000 || d > opusRate/1000 {
			t.Errorf("burst %d: onset at sample %d, want %d (start %d + lookahead %d) within 1 ms", i, got[i], s+look, s, look)
		}
	}
	if g := onsets(pcm, burstFreq, opusRate); len(g) != 0 {
		t.Errorf("1 kHz onsets in the 2 kHz bursts: %v", g)
	}
	// The level header: about -12 dBov (12000 peak) in a burst, silence between.
	if l := levels[26]; l < 10 || l > 14 {
		t.Errorf("level in a burst: got -%d dBov, want about -12", l)
	}
	if l := levels[40]; l != 127 {
		t.Errorf("level between bursts: got %d, want 127 (silence)", l)
	}
}

// FuzzOpusEarPacket: whatever the server sends on an audio track, an ear
// neither panics nor reads outside the packet.
func FuzzOpusEarPacket(f *testing.F) {
	f.Add([]byte{0x80, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xf8, 0xff, 0xfe})
	f.Add([]byte{0x90, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0, 0xfc})
	f.Add([]byte{0xa0, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xf8, 0xff, 0xfe, 9})
	e, err := newOpusEar()
	if err != nil {
		f.Fatal(err)
	}
	m := NewMarkers()
	ear := m.ear(true)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		e.packet(pkt, time.Now(), ear)
	})
}
