package sip

import (
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
	"gopkg.in/hraban/opus.v2"

	"dialroom/internal/g722"
	"dialroom/mixer"
)

// wideTone returns n samples of a hz tone at 16 kHz, from sample start on.
func wideTone(hz float64, n, start int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(8000 * math.Sin(2*math.Pi*hz*float64(start+i)/mixer.SampleRate))
	}
	return out
}

// power16k is the Goertzel power of pcm (16 kHz) at hz.
func power16k(pcm []int16, hz float64) float64 {
	w := 2 * math.Cos(2*math.Pi*hz/mixer.SampleRate)
	var s1, s2 float64
	for _, v := range pcm {
		s1, s2 = float64(v)+w*s1-s2, s1
	}
	return s1*s1 + s2*s2 - w*s1*s2
}

// seqRecorder is a SeqPusher member that keeps every frame it gets.
type seqRecorder struct {
	mu     sync.Mutex
	seqs   []uint16 // PushSeq's numbers in order; Push adds none
	frames [][]int16
	got    chan struct{}
}

func newSeqRecorder() *seqRecorder { return &seqRecorder{got: make(chan struct{}, 1024)} }

func (m *seqRecorder) Push(pcm []int16) { m.add(pcm) }

func (m *seqRecorder) PushSeq(seq uint16, pcm []int16) {
	m.mu.Lock()
	m.seqs = append(m.seqs, seq)
	m.mu.Unlock()
	m.add(pcm)
}

func (m *seqRecorder) add(pcm []int16) {
	m.mu.Lock()
	m.frames = append(m.frames, append([]int16(nil), pcm...))
	m.mu.Unlock()
	m.got <- struct{}{}
}

func (m *seqRecorder) Leave() {}

// wait waits for n more frames.
func (m *seqRecorder) wait(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-m.got:
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of %d frames reached the room", i, n)
		}
	}
}

// peerEncoder encodes 16 kHz audio as a wideband phone would.
type peerEncoder interface {
	Encode(dst []byte, pcm []int16) (int, error)
}

func newPeerEncoder(t *testing.T, c Codec) peerEncoder {
	t.Helper()
	e, err := newEncoderFor(c)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// withTestKeys gives m SDES keys of AES_CM_128_HMAC_SHA1_80 when srtp is
// set and returns them: ours encrypts what the session sends, theirs what
// it receives (nil, nil without srtp).
func withTestKeys(m *Media, srtp bool) (ours, theirs *sdesKey) {
	if !srtp {
		return nil, nil
	}
	suite, _ := suiteByName("AES_CM_128_HMAC_SHA1_80")
	ours, theirs = newSDESKey(suite), newSDESKey(suite)
	m.localKey, m.remoteKey, m.cryptoTag = ours, theirs, 1
	return ours, theirs
}

// readPackets reads n RTP packets at peer, decrypting with key when not nil.
func readPackets(t *testing.T, peer *net.UDPConn, n int, key *sdesKey) []rtp.Packet {
	t.Helper()
	var pkts []rtp.Packet
	buf := make([]byte, 1500)
	for len(pkts) < n {
		_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, err := peer.Read(buf)
		if err != nil {
			t.Fatalf("packet %d: %v", len(pkts), err)
		}
		b := buf[:k]
		if key != nil {
			c, err := key.context()
			if err != nil {
				t.Fatal(err)
			}
			if b, err = c.DecryptRTP(nil, b, nil); err != nil {
				t.Fatalf("packet %d does not decrypt: %v", len(pkts), err)
			}
		}
		var p rtp.Packet
		if err := p.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		p.Payload = append([]byte(nil), p.Payload...)
		pkts = append(pkts, p)
	}
	return pkts
}

// sendPackets sends payloads to conn as one stream starting at seq 1,
// skipping the sequence numbers in lost, encrypted with key when not nil.
func sendPackets(t *testing.T, peer, conn *net.UDPConn, pt uint8, step uint32, payloads [][]byte, lost map[int]bool, key *sdesKey) {
	t.Helper()
	for i, pl := range payloads {
		if lost[i+1] {
			continue
		}
		b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: uint16(i + 1),
			Timestamp: uint32(i+1) * step, SSRC: 0x5EED}, Payload: pl}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if key != nil {
			c, err := key.context()
			if err != nil {
				t.Fatal(err)
			}
			if b, err = c.EncryptRTP(nil, b, nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := peer.WriteToUDP(b, conn.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
	}
}

// On a wideband leg the RTP timestamp follows the codec's clock (160 per
// 20 ms for G.722, 960 for Opus), the leg's own 8 kHz audio goes out in
// its own encoder's stream, and the room's audio is the Frame's shared
// encoding of its 16 kHz audio, with SRTP too.
func TestWidebandSend(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codec Codec
		pt    uint8
		srtp  bool
	}{{"g722", G722, 9, false}, {"opus", Opus, 111, false}, {"g722 srtp", G722, 9, true}, {"opus srtp", Opus, 111, true}} {
		t.Run(tc.name, func(t *testing.T) {
			peer, conn := loopbackUDP(t), loopbackUDP(t)
			m := Media{Codec: tc.codec, PT: tc.pt, EventPT: -1, Remote: addrPort(peer)}
			ours, _ := withTestKeys(&m, tc.srtp)
			s := newRTPSession(conn, m, testLogger())
			defer s.Close()
			s.sendFrame(tone(440, mixer.NarrowSamples)) // a prompt
			s.sendFrame(nil)                            // silence
			wide := wideTone(6000, mixer.FrameSamples, 0)
			shared := mixer.NewFrame(wide)
			s.WriteFrame(shared)
			s.WriteFrame(shared) // a second leg's view: the encoding is reused
			pkts := readPackets(t, peer, 4, ours)
			step := uint32(160)
			if tc.codec == Opus {
				step = 960
			}
			for i, p := range pkts {
				if p.PayloadType != tc.pt || len(p.Payload) == 0 {
					t.Errorf("packet %d: PT %d with %d bytes, want PT %d with audio", i, p.PayloadType, len(p.Payload), tc.pt)
				}
				if p.Marker != (i == 0) {
					t.Errorf("packet %d: marker %v, want it on the first packet only", i, p.Marker)
				}
				if i > 0 && (p.SequenceNumber != pkts[i-1].SequenceNumber+1 || p.Timestamp != pkts[i-1].Timestamp+step) {
					t.Errorf("packet %d: seq %d ts %d after seq %d ts %d, want +1 and +%d", i, p.SequenceNumber,
						p.Timestamp, pkts[i-1].SequenceNumber, pkts[i-1].Timestamp, step)
				}
			}
			if tc.codec == G722 && len(pkts[0].Payload) != 160 {
				t.Errorf("G.722 payload of %d bytes, want 160 (20 ms at 64 kbit/s)", len(pkts[0].Payload))
			}
			// The room's packets carry the frame's 16 kHz audio, encoded by a
			// fresh encoder of the codec (the Frame's first use of its slot).
			want := make([]byte, mixer.MaxEncodedBytes)
			n, err := newPeerEncoder(t, tc.codec).Encode(want, wide)
			if err != nil {
				t.Fatal(err)
			}
			for i := 2; i < 4; i++ {
				if string(pkts[i].Payload) != string(want[:n]) {
					t.Errorf("packet %d: %d bytes, not the frame's %d-byte encoding", i, len(pkts[i].Payload), n)
				}
			}
		})
	}
}

// A re-INVITE that changes the codec changes the payload type and the
// timestamp step from the next packet on, and marks it.
func TestCodecChangeMidCall(t *testing.T) {
	peer, conn := loopbackUDP(t), loopbackUDP(t)
	m := Media{Codec: PCMU, PT: 0, EventPT: -1, Remote: addrPort(peer)}
	s := newRTPSession(conn, m, testLogger())
	defer s.Close()
	s.sendFrame(nil)
	s.sendFrame(nil)
	m.Codec, m.PT = G722, 9
	s.update(m)
	s.sendFrame(nil)
	s.sendFrame(nil)
	m.Codec, m.PT = Opus, 98
	s.update(m)
	s.sendFrame(nil)
	s.sendFrame(nil)
	pkts := readPackets(t, peer, 6, nil)
	wantPT := []uint8{0, 0, 9, 9, 98, 98}
	wantStep := []uint32{0, 160, 160, 160, 160, 960} // the step after a packet is that packet's codec's
	wantMarker := []bool{true, false, true, false, true, false}
	for i, p := range pkts {
		if p.PayloadType != wantPT[i] || p.Marker != wantMarker[i] {
			t.Errorf("packet %d: PT %d marker %v, want PT %d marker %v", i, p.PayloadType, p.Marker, wantPT[i], wantMarker[i])
		}
		if i > 0 && p.Timestamp-pkts[i-1].Timestamp != wantStep[i] {
			t.Errorf("packet %d: timestamp +%d, want +%d", i, p.Timestamp-pkts[i-1].Timestamp, wantStep[i])
		}
	}
}

// A caller's G.722 or Opus reaches the room as 16 kHz frames that keep a
// 6 kHz tone, which 8 kHz audio cannot carry; with SRTP too, and with an
// Opus packet of the largest size.
func TestWidebandReceive(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codec Codec
		pt    uint8
		srtp  bool
	}{{"g722", G722, 9, false}, {"opus", Opus, 111, false}, {"g722 srtp", G722, 9, true}, {"opus srtp", Opus, 111, true}} {
		t.Run(tc.name, func(t *testing.T) {
			peer, conn := loopbackUDP(t), loopbackUDP(t)
			m := Media{Codec: tc.codec, PT: tc.pt, EventPT: 101, Remote: addrPort(peer)}
			_, theirs := withTestKeys(&m, tc.srtp)
			s := newRTPSession(conn, m, testLogger())
			defer s.Close()
			member := newSeqRecorder()
			s.SetMembership(member)
			enc := newPeerEncoder(t, tc.codec)
			const frames = 25
			var payloads [][]byte
			for i := range frames {
				b := make([]byte, mixer.MaxEncodedBytes)
				n, err := enc.Encode(b, wideTone(6000, mixer.FrameSamples, i*mixer.FrameSamples))
				if err != nil {
					t.Fatal(err)
				}
				payloads = append(payloads, b[:n])
			}
			if tc.codec == Opus {
				payloads = append(payloads, largestOpusPacket(t))
			}
			sendPackets(t, peer, conn, tc.pt, tc.codec.tsPerFrame(), payloads, nil, theirs)
			member.wait(t, len(payloads))
			member.mu.Lock()
			defer member.mu.Unlock()
			var pcm []int16
			for i, f := range member.frames {
				if len(f) != mixer.FrameSamples {
					t.Fatalf("frame %d: %d samples, want %d (20 ms at 16 kHz)", i, len(f), mixer.FrameSamples)
				}
				if i >= 5 && i < frames {
					pcm = append(pcm, f...)
				}
			}
			tone, image := power16k(pcm, 6000), power16k(pcm, 2000)
			if tone < 100*image || rms(pcm) < 2000 {
				t.Errorf("6 kHz at %.1f dB over its 8 kHz image, rms %.0f; want >20 dB and a loud tone", 10*math.Log10(tone/image), rms(pcm))
			}
		})
	}
}

// largestOpusPacket is a 20 ms Opus packet of about 1275 bytes (RFC
// 6716's maximum), from stereo noise at 510 kbit/s.
func largestOpusPacket(t *testing.T) []byte {
	t.Helper()
	enc, err := opus.NewEncoder(48000, 2, opus.AppAudio)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.SetBitrate(510000); err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, 2*960)
	x := uint32(1)
	for i := range pcm {
		x = x*1664525 + 1013904223
		pcm[i] = int16(x >> 16)
	}
	buf := make([]byte, 1275)
	n, err := enc.Encode(pcm, buf)
	if err != nil {
		t.Fatal(err)
	}
	if n < 1200 {
		t.Fatalf("noise at 510 kbit/s gave a %d-byte packet, want a large one", n)
	}
	return buf[:n]
}

// A lost Opus packet is concealed when the next one arrives (from that
// packet's in-band FEC): the room gets a frame with the lost number.
func TestOpusLossConcealed(t *testing.T) {
	peer, conn := loopbackUDP(t), loopbackUDP(t)
	s := newRTPSession(conn, Media{Codec: Opus, PT: 111, EventPT: -1, Remote: addrPort(peer)}, testLogger())
	defer s.Close()
	member := newSeqRecorder()
	s.SetMembership(member)
	enc := newPeerEncoder(t, Opus)
	var payloads [][]byte
	for i := range 20 {
		b := make([]byte, mixer.MaxEncodedBytes)
		n, err := enc.Encode(b, wideTone(1000, mixer.FrameSamples, i*mixer.FrameSamples))
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, b[:n])
	}
	sendPackets(t, peer, conn, 111, 960, payloads, map[int]bool{10: true, 14: true, 15: true}, nil)
	member.wait(t, 20)
	member.mu.Lock()
	defer member.mu.Unlock()
	for i, seq := range member.seqs {
		if seq != uint16(i+1) {
			t.Fatalf("frames numbered %v, want 1 to 20 without gaps", member.seqs)
		}
	}
	for _, seq := range []uint16{10, 14, 15} {
		if f := member.frames[seq-1]; rms(f) < 1000 {
			t.Errorf("concealed frame %d: rms %.0f, want the tone carried on (> 1000)", seq, rms(f))
		}
	}
}

// Keys typed on a G.722 leg without telephone-event are found in its
// 16 kHz audio, and do not reach the room.
func TestInbandDTMFOnG722(t *testing.T) {
	peer, conn := loopbackUDP(t), loopbackUDP(t)
	s := newRTPSession(conn, Media{Codec: G722, PT: 9, EventPT: -1, Remote: addrPort(peer)}, testLogger())
	defer s.Close()
	member := newSeqRecorder()
	s.SetMembership(member)
	keys := mixer.Upsample(genDTMF("42#", dtmfSpec{onMS: 100, offMS: 100, lowAmp: 6000, highAmp: 6000, freqScale: 1}))
	enc, err := g722.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Free()
	var payloads [][]byte
	for i := 0; i+mixer.FrameSamples <= len(keys); i += mixer.FrameSamples {
		b := make([]byte, mixer.FrameSamples/2)
		if _, err := enc.Encode(b, keys[i:i+mixer.FrameSamples]); err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, b)
	}
	sendPackets(t, peer, conn, 9, 160, payloads, nil, nil)
	member.wait(t, len(payloads))
	var digits []byte
	for len(s.digits) > 0 {
		digits = append(digits, <-s.digits)
	}
	if string(digits) != "42#" {
		t.Errorf("digits %q, want %q", digits, "42#")
	}
	member.mu.Lock()
	defer member.mu.Unlock()
	loud := 0
	for _, f := range member.frames {
		if rms(f) > 1000 {
			loud++
		}
	}
	if loud > 3 {
		t.Errorf("%d frames of key tones reached the room, want at most 3 (one per key)", loud)
	}
}

// A phone that offers only G.722 gets G.722 in the answer, hears the
// prompt in it (taken up from 8 kHz, in 20 ms packets whose timestamps
// step by 160), joins with its PIN, and its 16 kHz voice reaches the room.
func TestG722Call(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	port := p.rtpConn.LocalAddr().(*net.UDPAddr).Port
	p.body = []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 9 96\r\na=rtpmap:9 G722/8000\r\na=rtpmap:96 telephone-event/8000\r\n", port))
	p.call(roomNumber)
	ans := string(p.dlg.InviteResponse.Body())
	if !strings.Contains(ans, " RTP/AVP 9 96\r\n") || !strings.Contains(ans, "a=rtpmap:9 G722/8000\r\n") {
		t.Fatalf("answer does not pick G.722:\n%s", ans)
	}
	dec, err := g722.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Free()
	var prev *rtp.Packet
	pcm := make([]int16, 2*mixer.MaxEncodedBytes)
	var heard []int16
	deadline := time.After(testWaitLong)
	for len(heard) < 10*mixer.FrameSamples {
		select {
		case pkt := <-p.packets:
			if pkt.PayloadType != 9 || len(pkt.Payload) != 160 {
				t.Fatalf("packet PT %d with %d bytes, want PT 9 with 160", pkt.PayloadType, len(pkt.Payload))
			}
			if prev != nil && pkt.Timestamp-prev.Timestamp != 160 {
				t.Errorf("timestamp +%d, want +160 (G.722's 8000 clock)", pkt.Timestamp-prev.Timestamp)
			}
			prev = &pkt
			n, _ := dec.Decode(pcm, pkt.Payload)
			if rms(pcm[:n]) > 1000 || len(heard) > 0 {
				heard = append(heard, pcm[:n]...)
			}
		case <-deadline:
			t.Fatal("no audible G.722 prompt")
		}
	}
	if a, b := power16k(heard, 440), power16k(heard, 880); a < 100*b {
		t.Errorf("prompt tone 440 Hz only %.1f dB over 880 Hz", 10*math.Log10(a/b))
	}
	p.sendDTMFLikeSipp("1234#")
	j := env.waitJoin(t)
	enc := newPeerEncoder(t, G722)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(frameInterval) // a phone's pace
		defer tick.Stop()
		for i := 0; i < 200; i++ {
			select {
			case <-j.member.heard:
				return
			case <-tick.C:
			}
			b := make([]byte, 160)
			_, _ = enc.Encode(b, wideTone(6000, mixer.FrameSamples, i*mixer.FrameSamples))
			p.seq++
			p.send(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 9, SequenceNumber: p.seq,
				Timestamp: uint32(p.seq) * 160, SSRC: 0x722}, Payload: b})
		}
	}()
	waitClosed(t, j.member.heard, "the caller's G.722 voice in the room")
	<-done
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}

// A re-INVITE that offers Opus in a PCMU call switches the call to Opus:
// our answer says opus/48000/2 under the offer's number, and the room's
// audio goes out as Opus with timestamps stepping by 960.
func TestReInviteToOpus(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber)
	j := env.waitJoin(t)
	port := p.rtpConn.LocalAddr().(*net.UDPAddr).Port
	sdp := fmt.Sprintf("v=0\r\no=- 1 3 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 102\r\na=rtpmap:102 opus/48000/2\r\na=fmtp:102 useinbandfec=1\r\na=sendrecv\r\n", port)
	res := p.inDialog(sip.INVITE, []byte(sdp))
	if res.StatusCode != 200 {
		t.Fatalf("re-INVITE: got %d, want 200", res.StatusCode)
	}
	if ans := string(res.Body()); !strings.Contains(ans, " RTP/AVP 102\r\n") || !strings.Contains(ans, "a=rtpmap:102 opus/48000/2\r\n") {
		t.Fatalf("answer does not switch to Opus 102:\n%s", ans)
	}
	dec, err := opus.NewDecoder(16000, 1)
	if err != nil {
		t.Fatal(err)
	}
	var last *rtp.Packet
	opusPackets := 0
	pcm := make([]int16, 5760)
	deadline := time.After(testWaitLong)
	for opusPackets < 5 {
		j.leg.WriteAudio(tone(600, mixer.NarrowSamples))
		select {
		case pkt := <-p.packets:
			if pkt.PayloadType != 102 {
				continue // PCMU sent before the switch
			}
			if last != nil && pkt.Timestamp-last.Timestamp != 960 {
				t.Errorf("Opus timestamp +%d, want +960", pkt.Timestamp-last.Timestamp)
			}
			if _, err := dec.Decode(pkt.Payload, pcm); err != nil {
				t.Errorf("Opus packet does not decode: %v", err)
			}
			last = &pkt
			opusPackets++
		case <-deadline:
			t.Fatalf("%d Opus packets after the re-INVITE, want 5", opusPackets)
		}
	}
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}

// Opus in 10 ms packets is re-framed to 20 ms in arrival order (without
// numbers), and a loss is left to the jitter buffer: no frame with a
// number is pushed into that stream.
func TestOpus10msPackets(t *testing.T) {
	peer, conn := loopbackUDP(t), loopbackUDP(t)
	s := newRTPSession(conn, Media{Codec: Opus, PT: 111, EventPT: -1, Remote: addrPort(peer)}, testLogger())
	defer s.Close()
	member := newSeqRecorder()
	s.SetMembership(member)
	enc := newPeerEncoder(t, Opus)
	const half = mixer.FrameSamples / 2
	var payloads [][]byte
	for i := range 21 {
		b := make([]byte, mixer.MaxEncodedBytes)
		n, err := enc.Encode(b, wideTone(1000, half, i*half))
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, b[:n])
	}
	sendPackets(t, peer, conn, 111, 480, payloads, map[int]bool{7: true}, nil)
	member.wait(t, 10) // 20 packets of 10 ms arrive
	member.mu.Lock()
	defer member.mu.Unlock()
	if len(member.seqs) != 0 {
		t.Errorf("numbered frames %v in a stream of 10 ms packets, want none", member.seqs)
	}
	for i, f := range member.frames {
		if len(f) != mixer.FrameSamples {
			t.Errorf("frame %d: %d samples, want %d", i, len(f), mixer.FrameSamples)
		}
	}
}
