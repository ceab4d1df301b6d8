package sip

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func offer(lines ...string) []byte {
	base := []string{"v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", "c=IN IP4 192.0.2.10", "t=0 0"}
	return []byte(strings.Join(append(base, lines...), "\r\n") + "\r\n")
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name    string
		sdp     []byte
		want    Media
		wantErr error
	}{
		{"sipp: PCMU first, te 96", offer("m=audio 6000 RTP/AVP 0 8 96", "a=rtpmap:96 telephone-event/8000"),
			Media{Codec: PCMU, PT: 0, EventPT: 96, Remote: netip.MustParseAddrPort("192.0.2.10:6000")}, nil},
		{"PCMA preferred", offer("m=audio 6000 RTP/AVP 8 0 101", "a=rtpmap:101 telephone-event/8000", "a=ptime:20"),
			Media{Codec: PCMA, PT: 8, EventPT: 101, Remote: netip.MustParseAddrPort("192.0.2.10:6000"), PtimeMS: 20}, nil},
		{"skip unsupported first", offer("m=audio 6000 RTP/AVP 18 3 8"),
			Media{Codec: PCMA, PT: 8, EventPT: -1, Remote: netip.MustParseAddrPort("192.0.2.10:6000")}, nil},
		{"dynamic PCMU", offer("m=audio 6000 RTP/AVP 100 99", "a=rtpmap:100 PCMU/8000", "a=rtpmap:99 telephone-event/8000"),
			Media{Codec: PCMU, PT: 100, EventPT: 99, Remote: netip.MustParseAddrPort("192.0.2.10:6000")}, nil},
		{"media-level c= wins", offer("m=audio 7000 RTP/AVP 0", "c=IN IP4 198.51.100.7"),
			Media{Codec: PCMU, PT: 0, EventPT: -1, Remote: netip.MustParseAddrPort("198.51.100.7:7000")}, nil},
		{"telephone-event 48k ignored", offer("m=audio 6000 RTP/AVP 0 97", "a=rtpmap:97 telephone-event/48000"),
			Media{Codec: PCMU, PT: 0, EventPT: -1, Remote: netip.MustParseAddrPort("192.0.2.10:6000")}, nil},
		{"sendonly", offer("m=audio 6000 RTP/AVP 0", "a=sendonly"),
			Media{Codec: PCMU, PT: 0, EventPT: -1, Remote: netip.MustParseAddrPort("192.0.2.10:6000"), Dir: DirSendOnly}, nil},
		{"inactive", offer("m=audio 6000 RTP/AVP 0", "a=inactive"),
			Media{Codec: PCMU, PT: 0, EventPT: -1, Remote: netip.MustParseAddrPort("192.0.2.10:6000"), Dir: DirInactive}, nil},
		{"recvonly", offer("m=audio 6000 RTP/AVP 0", "a=recvonly"),
			Media{Codec: PCMU, PT: 0, EventPT: -1, Remote: netip.MustParseAddrPort("192.0.2.10:6000"), Dir: DirRecvOnly}, nil},
		{"RFC 2543 hold c=0.0.0.0", offer("m=audio 6000 RTP/AVP 0", "c=IN IP4 0.0.0.0"),
			Media{Codec: PCMU, PT: 0, EventPT: -1, Remote: netip.MustParseAddrPort("0.0.0.0:6000"), Dir: DirSendOnly}, nil},
		{"video first", offer("m=video 5000 RTP/AVP 96", "m=audio 6000 RTP/AVP 8"),
			Media{Codec: PCMA, PT: 8, EventPT: -1, Remote: netip.MustParseAddrPort("192.0.2.10:6000")}, nil},
		{"only opus", offer("m=audio 6000 RTP/AVP 111", "a=rtpmap:111 opus/48000/2", "a=fmtp:111 useinbandfec=1"),
			Media{Codec: Opus, PT: 111, EventPT: -1, Remote: netip.MustParseAddrPort("192.0.2.10:6000")}, nil},
		{"G722 only, no rtpmap", offer("m=audio 6000 RTP/AVP 9"),
			Media{Codec: G722, PT: 9, EventPT: -1, Remote: netip.MustParseAddrPort("192.0.2.10:6000")}, nil},
		{"wideband preferred over the offer's G.711 first", offer("m=audio 6000 RTP/AVP 0 8 9 101", "a=rtpmap:9 G722/8000", "a=rtpmap:101 telephone-event/8000"),
			Media{Codec: G722, PT: 9, EventPT: 101, Remote: netip.MustParseAddrPort("192.0.2.10:6000")}, nil},
		{"G.722 before Opus", offer("m=audio 6000 RTP/AVP 111 0 9", "a=rtpmap:111 opus/48000/2"),
			Media{Codec: G722, PT: 9, EventPT: -1, Remote: netip.MustParseAddrPort("192.0.2.10:6000")}, nil},
		{"Opus before G.711", offer("m=audio 6000 RTP/AVP 8 0 96", "a=rtpmap:96 OPUS/48000/2"),
			Media{Codec: Opus, PT: 96, EventPT: -1, Remote: netip.MustParseAddrPort("192.0.2.10:6000")}, nil},
		{"opus without channels", offer("m=audio 6000 RTP/AVP 0 107", "a=rtpmap:107 opus/48000"),
			Media{Codec: Opus, PT: 107, EventPT: -1, Remote: netip.MustParseAddrPort("192.0.2.10:6000")}, nil},
		{"opus at another clock is not opus", offer("m=audio 6000 RTP/AVP 107 8", "a=rtpmap:107 opus/16000/1"),
			Media{Codec: PCMA, PT: 8, EventPT: -1, Remote: netip.MustParseAddrPort("192.0.2.10:6000")}, nil},
		{"G722 at 16000 is not RFC 3551 G.722", offer("m=audio 6000 RTP/AVP 9 0", "a=rtpmap:9 G722/16000"),
			Media{Codec: PCMU, PT: 0, EventPT: -1, Remote: netip.MustParseAddrPort("192.0.2.10:6000")}, nil},
		{"stereo PCMU is not ours", offer("m=audio 6000 RTP/AVP 100 8", "a=rtpmap:100 PCMU/8000/2"),
			Media{Codec: PCMA, PT: 8, EventPT: -1, Remote: netip.MustParseAddrPort("192.0.2.10:6000")}, nil},
		{"no codec of ours", offer("m=audio 6000 RTP/AVP 18 3", "a=rtpmap:18 G729/8000"), Media{}, ErrNoCodec},
		{"port 0 rejected stream", offer("m=audio 0 RTP/AVP 0"), Media{}, ErrNoCodec},
		{"SRTP profile", offer("m=audio 6000 RTP/SAVP 0"), Media{}, ErrNoCodec},
		{"no media", offer(), Media{}, ErrNoCodec},
	}
	for _, tt := range tests {
		got, err := Negotiate(tt.sdp)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
			continue
		}
		got.rejectedBefore, got.rejectedAfter = "", "" // TestAnswerSRTP checks the other m= lines
		if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestNegotiateGarbage(t *testing.T) {
	for _, in := range []string{"", "hello", "v=0\r\nm=audio x RTP/AVP 0\r\n"} {
		if _, err := Negotiate([]byte(in)); err == nil {
			t.Errorf("Negotiate(%q): got nil error, want one", in)
		}
	}
}

func TestAnswerRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		media Media
		ip    string
	}{
		{"PCMU + te 96", Media{Codec: PCMU, PT: 0, EventPT: 96}, "192.0.2.1"},
		{"PCMA no te", Media{Codec: PCMA, PT: 8, EventPT: -1}, "192.0.2.1"},
		{"IPv6", Media{Codec: PCMU, PT: 0, EventPT: 101}, "2001:db8::1"},
		{"G722", Media{Codec: G722, PT: 9, EventPT: 101}, "192.0.2.1"},
		{"opus, renumbered", Media{Codec: Opus, PT: 120, EventPT: -1}, "192.0.2.1"},
	}
	// The answer's direction mirrors the offer's (RFC 3264 §6.1).
	for _, tt := range []struct {
		offer Direction
		want  string
	}{{DirSendRecv, "a=sendrecv"}, {DirSendOnly, "a=recvonly"}, {DirRecvOnly, "a=sendonly"}, {DirInactive, "a=inactive"}} {
		ans := string(Answer(Media{Codec: PCMU, EventPT: -1, Dir: tt.offer}, netip.MustParseAddr("192.0.2.1"), 12000, 1, 2))
		if !strings.Contains(ans, tt.want+"\r\n") || !strings.Contains(ans, "o=dialroom 1 2 ") {
			t.Errorf("answer to %v: got\n%s\nwant %s and o= version 2", tt.offer, ans, tt.want)
		}
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		ans := Answer(tt.media, ip, 12000, 42, 43)
		if strings.Contains(string(ans), "0.0.0.0") {
			t.Errorf("%s: answer contains 0.0.0.0", tt.name)
		}
		got, err := Negotiate(ans)
		if err != nil {
			t.Fatalf("%s: our answer does not parse: %v\n%s", tt.name, err, ans)
		}
		want := tt.media
		want.Remote = netip.AddrPortFrom(ip, 12000)
		want.PtimeMS = 20
		if got != want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, want)
		}
	}
}

func FuzzNegotiate(f *testing.F) {
	f.Add(offer("m=audio 6000 RTP/AVP 0 8 96", "a=rtpmap:96 telephone-event/8000"))
	f.Add(offer("m=audio 6000 RTP/AVP 100", "a=rtpmap:100 PCMA/8000", "a=ptime:30"))
	f.Add(offer("m=audio 6000 RTP/AVP 0", "a=rtcp:6003 IN IP4 192.0.2.9"))
	f.Add(offer("m=audio 6000 RTP/AVP 0", "a=rtcp:x IN IP6"))
	f.Add([]byte("v=0\r\n"))
	f.Add(offer("m=audio 6000 RTP/AVP 9 111 0 8 101", "a=rtpmap:9 G722/8000", "a=rtpmap:111 opus/48000/2",
		"a=fmtp:111 maxplaybackrate=16000;useinbandfec=1", "a=rtpmap:101 telephone-event/8000"))
	f.Add(offer("m=audio 6000 RTP/AVP 96 9", "a=rtpmap:96 opus/48000", "a=rtpmap:9 G722/16000/1"))
	f.Add(offer("m=audio 6000 RTP/AVP 111 101", "a=rtpmap:111 opus/48000/2", "a=rtpmap:101 telephone-event/48000"))
	f.Add(offer("m=audio 6000 RTP/SAVP 9", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+key30))
	f.Add(offer("m=video 7000 RTP/AVP 96", "m=audio 6000 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+key30,
		"m=audio 6002 RTP/AVP 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, mode := range []SRTPMode{SRTPRequired, SRTPOff} {
			if m, err := negotiate(b, mode); err == nil {
				if m.Secure() != (mode == SRTPRequired) {
					t.Fatalf("mode %s: secure %v", mode, m.Secure())
				}
				_ = Answer(m, netip.MustParseAddr("192.0.2.1"), 12000, 1, 1)
			}
		}
		m, err := Negotiate(b)
		if err != nil {
			return
		}
		if m.Codec != PCMU && m.Codec != PCMA && m.Codec != G722 && m.Codec != Opus {
			t.Fatalf("codec %v", m.Codec)
		}
		if a, err := negotiateAnswer(b, SRTPOptional); err == nil && !listsCodec(b, a.Codec, a.PT) {
			t.Fatalf("answer codec %v/%d not listed in the SDP", a.Codec, a.PT)
		}
		if !m.Remote.IsValid() || m.Remote.Port() == 0 {
			t.Fatalf("remote %v", m.Remote)
		}
		if m.EventPT > 127 {
			t.Fatalf("event pt %d", m.EventPT)
		}
	})
}
