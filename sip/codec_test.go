package sip

import (
	"io"
	"math"
	"net/netip"
	"strings"
	"testing"

	"dialroom/mixer"
)

// The answer names the chosen codec as RFC 3551 and RFC 7587 spell it:
// G.722 with its 8000 clock, Opus as 48000/2 with our fmtp.
func TestAnswerWidebandLines(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.1")
	tests := []struct {
		media Media
		want  []string
		not   []string
	}{
		{Media{Codec: G722, PT: 9, EventPT: 101}, []string{"m=audio 12000 RTP/AVP 9 101\r\n", "a=rtpmap:9 G722/8000\r\n"},
			[]string{"opus", "a=fmtp:9"}},
		{Media{Codec: Opus, PT: 96, EventPT: -1}, []string{"m=audio 12000 RTP/AVP 96\r\n", "a=rtpmap:96 opus/48000/2\r\n",
			"a=fmtp:96 maxplaybackrate=16000;sprop-maxcapturerate=16000;useinbandfec=1\r\n"}, []string{"G722", "telephone-event"}},
		{Media{Codec: PCMA, PT: 8, EventPT: -1}, []string{"m=audio 12000 RTP/AVP 8\r\n", "a=rtpmap:8 PCMA/8000\r\n"}, []string{"fmtp"}},
	}
	for _, tt := range tests {
		ans := string(Answer(tt.media, ip, 12000, 1, 1))
		for _, w := range tt.want {
			if !strings.Contains(ans, w) {
				t.Errorf("%v: answer lacks %q:\n%s", tt.media.Codec, w, ans)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(ans, w) {
				t.Errorf("%v: answer has %q:\n%s", tt.media.Codec, w, ans)
			}
		}
	}
}

// Our own offer (late offer) lists every codec in our order, and an answer
// to it is read in the answerer's order.
func TestOurOfferAndItsAnswer(t *testing.T) {
	o := string(Answer(lateOfferMedia(SRTPOff), netip.MustParseAddr("192.0.2.1"), 12000, 1, 1))
	for _, w := range []string{"m=audio 12000 RTP/AVP 9 111 0 8 101\r\n", "a=rtpmap:9 G722/8000\r\n",
		"a=rtpmap:111 opus/48000/2\r\n", "a=fmtp:111 ", "a=rtpmap:0 PCMU/8000\r\n", "a=rtpmap:8 PCMA/8000\r\n",
		"a=rtpmap:101 telephone-event/8000\r\n"} {
		if !strings.Contains(o, w) {
			t.Errorf("our offer lacks %q:\n%s", w, o)
		}
	}
	ours := []byte(o)
	tests := []struct {
		name   string
		answer []byte
		codec  Codec
		pt     uint8
		listed bool
	}{
		{"PCMU first, G.722 too", offer("m=audio 7000 RTP/AVP 0 9"), PCMU, 0, true},
		{"G.722", offer("m=audio 7000 RTP/AVP 9 101", "a=rtpmap:101 telephone-event/8000"), G722, 9, true},
		{"opus renumbered", offer("m=audio 7000 RTP/AVP 98", "a=rtpmap:98 opus/48000/2"), Opus, 98, true},
		{"PCMU under another number", offer("m=audio 7000 RTP/AVP 100", "a=rtpmap:100 PCMU/8000"), PCMU, 100, false},
	}
	// Our SDP may begin with a rejected stream (an offer's extra m= line).
	if !listsCodec([]byte(strings.Replace(o, "m=audio", "m=audio 0 RTP/AVP 18\r\nm=audio", 1)), PCMA, 8) {
		t.Error("a rejected first stream hides the codecs of the one we use")
	}
	for _, tt := range tests {
		m, err := negotiateAnswer(tt.answer, SRTPOff)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if m.Codec != tt.codec || m.PT != tt.pt {
			t.Errorf("%s: got %v/%d, want %v/%d", tt.name, m.Codec, m.PT, tt.codec, tt.pt)
		}
		if got := listsCodec(ours, m.Codec, m.PT); got != tt.listed {
			t.Errorf("%s: listed in our offer %v, want %v", tt.name, got, tt.listed)
		}
	}
}

// Each codec's RTP clock and frame: G.722 samples 16 kHz but its RTP
// clock runs at 8000 (RFC 3551 §4.5.2); Opus's at 48000 (RFC 7587 §4.1).
func TestCodecClocks(t *testing.T) {
	for _, tt := range []struct {
		c       Codec
		ts      uint32
		samples int
		name    string
	}{{PCMU, 160, 160, "PCMU/8000"}, {PCMA, 160, 160, "PCMA/8000"}, {G722, 160, 320, "G722/8000"}, {Opus, 960, 320, "opus/48000/2"}} {
		if got := tt.c.tsPerFrame(); got != tt.ts {
			t.Errorf("%v: timestamp step %d, want %d", tt.c, got, tt.ts)
		}
		if got := tt.c.frameSamples(); got != tt.samples {
			t.Errorf("%v: frame of %d samples, want %d", tt.c, got, tt.samples)
		}
		if got := tt.c.rtpmap(); got != tt.name {
			t.Errorf("%v: rtpmap %q, want %q", tt.c, got, tt.name)
		}
	}
}

// BenchmarkPhoneEncode20ms is the cost of one 20 ms frame of 16 kHz audio
// in each wideband codec, as a phone leg's encoder does it.
func BenchmarkPhoneEncode20ms(b *testing.B) {
	for _, c := range []Codec{G722, Opus} {
		b.Run(c.String(), func(b *testing.B) {
			enc, err := newEncoderFor(c)
			if err != nil {
				b.Fatal(err)
			}
			speechy := make([][]int16, 50)
			for i := range speechy {
				speechy[i] = make([]int16, mixer.FrameSamples)
				for j := range speechy[i] {
					k := float64(i*mixer.FrameSamples + j)
					speechy[i][j] = int16(3000*math.Sin(k*0.05) + 2000*math.Sin(k*0.31) + 1000*math.Sin(k*1.7))
				}
			}
			dst := make([]byte, mixer.MaxEncodedBytes)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := enc.Encode(dst, speechy[i%len(speechy)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkPhoneDecode20ms is the cost of decoding one 20 ms packet.
func BenchmarkPhoneDecode20ms(b *testing.B) {
	for _, c := range []Codec{PCMU, G722, Opus} {
		b.Run(c.String(), func(b *testing.B) {
			var pkt []byte
			if c == PCMU {
				pkt = make([]byte, mixer.NarrowSamples)
			} else {
				enc, err := newEncoderFor(c)
				if err != nil {
					b.Fatal(err)
				}
				buf := make([]byte, mixer.MaxEncodedBytes)
				pcm := make([]int16, mixer.FrameSamples)
				for j := range pcm {
					pcm[j] = int16(3000 * math.Sin(float64(j)*0.3))
				}
				n, _ := enc.Encode(buf, pcm)
				pkt = buf[:n]
			}
			var d rxDecoder
			if err := d.use(c); err != nil {
				b.Fatal(err)
			}
			defer d.close()
			b.ReportAllocs()
			for b.Loop() {
				if d.decode(pkt) == nil {
					b.Fatal("no audio")
				}
			}
		})
	}
}

// FuzzDecodePayload: whatever a caller sends as audio, in any codec,
// decodes to at most maxDecoded samples or to nothing, without a crash.
func FuzzDecodePayload(f *testing.F) {
	f.Add(uint8(0), []byte{0xff, 0x7f})
	f.Add(uint8(2), make([]byte, 160))
	f.Add(uint8(3), []byte{0x48, 0x01, 0x02})
	f.Add(uint8(3), []byte{0xfb, 0xff, 0xff})
	codecs := []Codec{PCMU, PCMA, G722, Opus}
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		var d rxDecoder
		defer d.close()
		if err := d.use(codecs[int(which)%len(codecs)]); err != nil {
			t.Fatal(err)
		}
		if pcm := d.decode(payload); len(pcm) > maxDecoded {
			t.Fatalf("%d samples from %d bytes", len(pcm), len(payload))
		}
		if pcm := d.conceal(payload); pcm != nil && len(pcm) != mixer.FrameSamples {
			t.Fatalf("concealed frame of %d samples", len(pcm))
		}
	})
}

// A G.722 encoder is an io.Closer (the mixer closes its Frames'
// encoders that hold C memory); Close is idempotent and an encoder used
// after it fails cleanly (internal/opusenc tests the Opus encoder).
func TestEncoderClose(t *testing.T) {
	e, err := newG722Encoder()
	if err != nil {
		t.Fatal(err)
	}
	c, ok := e.(io.Closer)
	if !ok {
		t.Fatal("G.722 encoder is not an io.Closer")
	}
	dst := make([]byte, mixer.MaxEncodedBytes)
	pcm := make([]int16, mixer.FrameSamples)
	if n, err := e.Encode(dst, pcm); err != nil || n != 160 {
		t.Fatalf("encode: %d bytes, %v; want 160", n, err)
	}
	_ = c.Close()
	_ = c.Close()
	if _, err := e.Encode(dst, pcm); err == nil {
		t.Error("encode after Close: got nil error, want one")
	}
}

// Beside Opus a peer may clock its events at 48000 (RFC 4733 §2.1); that
// format is taken with Opus and echoed in the answer, while G.711 and
// G.722 keep telephone-event/8000.
func TestTelephoneEvent48k(t *testing.T) {
	tests := []struct {
		name    string
		sdp     []byte
		codec   Codec
		eventPT int
		rtpmap  string
	}{
		{"opus with 48k events", offer("m=audio 6000 RTP/AVP 111 0 101 110", "a=rtpmap:111 opus/48000/2",
			"a=rtpmap:101 telephone-event/48000", "a=rtpmap:110 telephone-event/8000"), Opus, 101, "a=rtpmap:101 telephone-event/48000\r\n"},
		{"opus with 8k events only", offer("m=audio 6000 RTP/AVP 111 110", "a=rtpmap:111 opus/48000/2",
			"a=rtpmap:110 telephone-event/8000"), Opus, 110, "a=rtpmap:110 telephone-event/8000\r\n"},
		{"G.722 ignores 48k events", offer("m=audio 6000 RTP/AVP 9 101", "a=rtpmap:101 telephone-event/48000"), G722, -1, ""},
	}
	for _, tt := range tests {
		m, err := Negotiate(tt.sdp)
		if err != nil || m.Codec != tt.codec || m.EventPT != tt.eventPT {
			t.Errorf("%s: got %v with events %d (%v), want %v with %d", tt.name, m.Codec, m.EventPT, err, tt.codec, tt.eventPT)
			continue
		}
		ans := string(Answer(m, netip.MustParseAddr("192.0.2.1"), 12000, 1, 1))
		if tt.rtpmap != "" && !strings.Contains(ans, tt.rtpmap) {
			t.Errorf("%s: answer lacks %q:\n%s", tt.name, tt.rtpmap, ans)
		}
		if back, err := Negotiate([]byte(ans)); err != nil || back.EventPT != tt.eventPT {
			t.Errorf("%s: our answer reads back with events %d (%v), want %d", tt.name, back.EventPT, err, tt.eventPT)
		}
	}
}
