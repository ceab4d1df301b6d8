package sip

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"dialroom/mixer"
)

// recordMember collects pushed frames.
type recordMember struct {
	mu     sync.Mutex
	frames [][]int16
	got    chan struct{}
}

func (m *recordMember) Push(pcm []int16) {
	m.mu.Lock()
	m.frames = append(m.frames, append([]int16(nil), pcm...))
	m.mu.Unlock()
	m.got <- struct{}{}
}

func (m *recordMember) Leave() {}

func loopbackUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrPort(c *net.UDPConn) netip.AddrPort {
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// The session sends to the SDP address until RTP arrives, then to the
// packet's source (symmetric RTP).
func TestRTPLatchesToSource(t *testing.T) {
	sdpPeer, natPeer := loopbackUDP(t), loopbackUDP(t)
	conn, err := listenRTP(netip.MustParseAddr("127.0.0.1"), 30000, 30100)
	if err != nil {
		t.Fatal(err)
	}
	if port := conn.LocalAddr().(*net.UDPAddr).Port; port%2 != 0 || port < 30000 || port > 30100 {
		t.Errorf("rtp port %d, want even in 30000-30100", port)
	}
	s := newRTPSession(conn, Media{Codec: PCMU, PT: 0, EventPT: 96, Remote: addrPort(sdpPeer)}, testLogger())
	defer s.Close()
	buf := make([]byte, 1500)

	s.sendFrame(nil)
	_ = sdpPeer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := sdpPeer.Read(buf); err != nil {
		t.Fatalf("SDP address got nothing: %v", err)
	}

	dtmf, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1, Timestamp: 5},
		Payload: dtmfPayload(7, false, 160)}).Marshal()
	if _, err := natPeer.WriteToUDP(dtmf, conn.LocalAddr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-s.digits:
		if d != '7' {
			t.Errorf("digit %q, want '7'", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no digit")
	}
	s.sendFrame(tone(440, mixer.NarrowSamples))
	_ = natPeer.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := natPeer.Read(buf)
	if err != nil {
		t.Fatalf("latched address got nothing: %v", err)
	}
	var pkt rtp.Packet
	if err := pkt.Unmarshal(buf[:n]); err != nil || len(pkt.Payload) != mixer.NarrowSamples {
		t.Fatalf("got %d-byte payload (%v), want %d", len(pkt.Payload), err, mixer.NarrowSamples)
	}
}

// 10 ms and 30 ms packets are re-framed into 20 ms frames for the room.
func TestRTPReframes(t *testing.T) {
	tests := []struct {
		name      string
		ptimeMS   int
		packets   int
		wantFrame int
	}{
		{"10 ms", 10, 4, 2},
		{"20 ms", 20, 3, 3},
		{"30 ms", 30, 2, 3},
	}
	for _, tt := range tests {
		peer := loopbackUDP(t)
		conn, err := listenRTP(netip.MustParseAddr("127.0.0.1"), 30200, 30300)
		if err != nil {
			t.Fatal(err)
		}
		s := newRTPSession(conn, Media{Codec: PCMA, PT: 8, EventPT: -1, Remote: addrPort(peer)}, testLogger())
		m := &recordMember{got: make(chan struct{}, 16)}
		s.SetMembership(m)
		samples := tt.ptimeMS * 8
		pcm := tone(300, samples*tt.packets)
		for i := range tt.packets {
			payload := make([]byte, samples)
			EncodeALaw(payload, pcm[i*samples:])
			b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: uint16(i),
				Timestamp: uint32(i * samples), SSRC: 9}, Payload: payload}).Marshal()
			if _, err := peer.WriteToUDP(b, conn.LocalAddr().(*net.UDPAddr)); err != nil {
				t.Fatal(err)
			}
		}
		for range tt.wantFrame {
			select {
			case <-m.got:
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: too few frames", tt.name)
			}
		}
		s.Close()
		m.mu.Lock()
		if len(m.frames) != tt.wantFrame {
			t.Errorf("%s: got %d frames, want %d", tt.name, len(m.frames), tt.wantFrame)
		}
		for i, f := range m.frames {
			if len(f) != mixer.NarrowSamples {
				t.Errorf("%s: frame %d has %d samples, want %d", tt.name, i, len(f), mixer.NarrowSamples)
			}
		}
		m.mu.Unlock()
	}
}

// Close stops the reader goroutine (no leak) and is idempotent. The
// session starts exactly one goroutine, which closes done when it returns;
// counting all goroutines would also see other tests' sipgo timers firing.
func TestRTPSessionCloseNoLeak(t *testing.T) {
	for i := range 20 {
		conn, err := listenRTP(netip.Addr{}, 30400, 30500)
		if err != nil {
			t.Fatal(err)
		}
		s := newRTPSession(conn, Media{Codec: PCMU, EventPT: -1}, testLogger())
		s.Close()
		s.Close()
		select {
		case <-s.done:
		default:
			t.Fatalf("session %d: reader goroutine still running after Close", i)
		}
	}
}

func TestListenRTPBadRange(t *testing.T) {
	if _, err := listenRTP(netip.Addr{}, 30010, 30000); err == nil {
		t.Error("empty range: got nil error, want one")
	}
}

// WriteFrame (the mixer's shared encode) sends the same packet as
// WriteAudio of the same audio, for both codecs and with SRTP: the payload
// is the frame's encoding in the session's codec, and sequence numbers,
// timestamps and the marker continue across both kinds of write.
func TestWriteFrameMatchesWriteAudio(t *testing.T) {
	pcm := tone(700, mixer.NarrowSamples)
	for _, tc := range []struct {
		name  string
		codec Codec
		pt    uint8
		srtp  bool
	}{{"pcmu", PCMU, 0, false}, {"pcma", PCMA, 8, false}, {"pcmu srtp", PCMU, 0, true}} {
		t.Run(tc.name, func(t *testing.T) {
			peer, conn := loopbackUDP(t), loopbackUDP(t)
			m := Media{Codec: tc.codec, PT: tc.pt, EventPT: -1, Remote: addrPort(peer)}
			ours, _ := withTestKeys(&m, tc.srtp)
			s := newRTPSession(conn, m, testLogger())
			defer s.Close()
			shared := mixer.NewFrame(pcm)
			s.WriteAudio(pcm)
			s.WriteFrame(shared)
			s.WriteFrame(shared) // a second leg's view: the encoding is reused
			pkts := readPackets(t, peer, 3, ours)
			want := make([]byte, mixer.NarrowSamples)
			if tc.codec == PCMA {
				EncodeALaw(want, pcm)
			} else {
				EncodeULaw(want, pcm)
			}
			for i, p := range pkts {
				if p.PayloadType != tc.pt || string(p.Payload) != string(want) {
					t.Errorf("packet %d: PT %d, payload %x...; want PT %d, payload %x...", i, p.PayloadType,
						p.Payload[:min(4, len(p.Payload))], tc.pt, want[:4])
				}
				if p.Marker != (i == 0) {
					t.Errorf("packet %d: marker %v, want it on the first packet only", i, p.Marker)
				}
				if i > 0 && (p.SequenceNumber != pkts[i-1].SequenceNumber+1 ||
					p.Timestamp != pkts[i-1].Timestamp+mixer.NarrowSamples || p.SSRC != pkts[0].SSRC) {
					t.Errorf("packet %d: seq %d ts %d ssrc %x after seq %d ts %d ssrc %x", i, p.SequenceNumber,
						p.Timestamp, p.SSRC, pkts[i-1].SequenceNumber, pkts[i-1].Timestamp, pkts[0].SSRC)
				}
			}
		})
	}
}
