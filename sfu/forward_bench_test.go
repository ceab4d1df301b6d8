package sfu

import (
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// BenchmarkForwardAudio measures the server's cost per forwarded audio
// packet on the real path: pion browsers on loopback join a room on a
// shared UDP port (as in production), P of them publish Opus, and every
// other browser subscribes. Once every subscriber receives every
// publisher, the benchmark's goroutine plays the publishers' readers: it
// hands 100-byte Opus packets with an audio level straight to what a
// reader does per packet (audioIn.receive, then the track's or the slot's
// write), P at a time, so one op is one inbound packet forwarded to every
// subscriber but its publisher.
//
// Metrics, per forwarded packet (one datagram to one subscriber):
// ns/fwd is the wall time of the forwarding goroutine; cpu-ns/fwd its
// thread's CPU time, split into sys-ns/fwd (the kernel: sendto) and the
// rest (user space: pion's interceptors, SRTP, ICE, and ours); fwd/s/core
// is 1e9/cpu-ns/fwd; allocs/fwd counts the whole process's allocations
// (the subscribers, without interceptors and reading raw packets, add
// next to none); loss-% is what the subscribers did not receive. The
// subscribers run on the other core, so on a busy machine wall time grows
// but the thread's CPU time should not. Sender reports go out from
// another goroutine and are not counted.
//
//	go test -run '^$' -bench ForwardAudio -benchtime 200000x ./sfu/
func BenchmarkForwardAudio(b *testing.B) {
	for _, c := range []struct{ pubs, subs, lastN int }{
		{5, 20, 0}, // every browser's audio, per-publisher tracks
		{3, 20, 3}, // audio slots (last-N 3), the default
	} {
		b.Run(fmt.Sprintf("pubs=%d/subs=%d/lastN=%d", c.pubs, c.subs, c.lastN), func(b *testing.B) {
			benchForwardAudio(b, c.pubs, c.subs, c.lastN)
		})
	}
}

func benchForwardAudio(b *testing.B, pubs, subs, lastN int) {
	tr, err := NewTransport(TransportConfig{UDPListen: "127.0.0.1:0"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tr.Close() })
	m, err := NewManager(Config{ICEIPs: []string{"127.0.0.1"}, AudioLastN: lastN, Transport: tr}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	room := m.Room("bench")

	var received atomic.Int64 // packets every subscriber has read
	opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	type pub struct {
		b   *benchBrowser
		mic *webrtc.TrackLocalStaticRTP
	}
	var all []*benchBrowser
	var ps []pub
	for i := range pubs {
		mic, err := webrtc.NewTrackLocalStaticRTP(opus, "mic", fmt.Sprintf("pub%d", i))
		if err != nil {
			b.Fatal(err)
		}
		bb := joinBenchBrowser(b, room, fmt.Sprintf("pub%d", i), mic, &received)
		ps = append(ps, pub{bb, mic})
		all = append(all, bb)
	}
	for i := range subs {
		all = append(all, joinBenchBrowser(b, room, fmt.Sprintf("sub%d", i), nil, &received))
	}
	fanout := len(all) - 1 // subscribers of each publisher

	// Warm up through the browsers until every subscriber reads every
	// publisher (with slots: until all publishers are audible).
	payload := make([]byte, 100)
	seq := make([]uint16, pubs)
	pkt := func(i int) *rtp.Packet {
		seq[i]++
		h := rtp.Header{Version: 2, SequenceNumber: seq[i], Timestamp: uint32(seq[i]) * opusFrame}
		_ = h.SetExtension(AudioLevelID, []byte{0x80 | 20})
		return &rtp.Packet{Header: h, Payload: payload}
	}
	deadline := time.Now().Add(3 * testTimeout)
	for !allReceiving(all, pubs, lastN) {
		if time.Now().After(deadline) {
			b.Fatal("subscribers never received every publisher")
		}
		for i, p := range ps {
			_ = p.mic.WriteRTP(pkt(i))
		}
		time.Sleep(20 * time.Millisecond) // pace the warm-up like a microphone
	}

	// The server's side of each publisher, as its reader goroutine has it.
	type reader struct {
		in    audioIn
		write func(*rtp.Packet, time.Time)
		pkts  []rtp.Packet
	}
	readers := make([]*reader, pubs)
	for i, p := range ps {
		peer := p.b.peer
		rd := &reader{in: audioIn{p: peer}, write: peer.writeSlot}
		if lastN == 0 {
			local := audioTrackOf(room, peer.ID())
			if local == nil {
				b.Fatalf("no audio track of %s", peer.ID())
			}
			rd.write = peer.trackWriter(local)
		}
		// Sequence numbers well past the warm-up's, so no subscriber
		// takes them for replays.
		seq[i] += 1000
		rd.pkts = make([]rtp.Packet, 256)
		for k := range rd.pkts {
			rd.pkts[k] = *pkt(i)
		}
		readers[i] = rd
	}

	const window = 2000 // forwarded packets the subscribers may lag behind
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	start := received.Load()
	u0, s0 := threadCPU()
	b.ResetTimer()
	sent := int64(0)
	for n := 0; n < b.N; {
		for k := 0; k < 256 && n < b.N; k++ {
			for _, rd := range readers {
				if n == b.N {
					break
				}
				p := &rd.pkts[k]
				// Each round of 256 packets is sent again with new
				// numbers: the subscribers' SRTP drops replays.
				p.SequenceNumber += 256
				p.Timestamp += 256 * opusFrame
				now := time.Now()
				rd.in.receive(p, now)
				rd.write(p, now)
				sent += int64(fanout)
				n++
			}
			if lag := sent - (received.Load() - start); lag > window {
				waitLag(&received, start, sent, window)
			}
		}
	}
	b.StopTimer()
	u1, s1 := threadCPU()
	runtime.ReadMemStats(&ms1)
	// Let the last packets arrive before counting the loss.
	waitLag(&received, start, sent, 0)
	got := received.Load() - start
	fwd := float64(sent)
	cpu := float64((u1 - u0) + (s1 - s0))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/fwd, "ns/fwd")
	b.ReportMetric(cpu/fwd, "cpu-ns/fwd")
	b.ReportMetric(float64(s1-s0)/fwd, "sys-ns/fwd")
	b.ReportMetric(1e9/(cpu/fwd), "fwd/s/core")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/fwd, "allocs/fwd")
	b.ReportMetric(100*(1-float64(got)/fwd), "loss-%")
	b.ReportMetric(0, "ns/op")
}

// waitLag waits, at most a second, until the subscribers have read all
// but lag of the sent packets; a packet lost on the way never arrives.
func waitLag(received *atomic.Int64, start, sent, lag int64) {
	deadline := time.Now().Add(time.Second)
	for sent-(received.Load()-start) > lag && time.Now().Before(deadline) {
		time.Sleep(50 * time.Microsecond) // polling the readers' counter
	}
}

// allReceiving reports whether every browser reads audio of every
// publisher but itself: per publisher its track, or with slots lastN
// slot tracks that carry packets.
func allReceiving(all []*benchBrowser, pubs, lastN int) bool {
	for _, bb := range all {
		want := pubs
		if bb.publishes {
			want--
		}
		if lastN > 0 {
			want = min(want, lastN)
		}
		if int(bb.active.Load()) < want {
			return false
		}
	}
	return true
}

// audioTrackOf returns the audio track room forwards for publisher id.
func audioTrackOf(room *Room, id string) *webrtc.TrackLocalStaticRTP {
	room.mu.Lock()
	defer room.mu.Unlock()
	for _, o := range room.outs {
		if o.owner == id && o.kind == webrtc.RTPCodecTypeAudio {
			if l, ok := o.local.(*webrtc.TrackLocalStaticRTP); ok {
				return l
			}
		}
	}
	return nil
}

// threadCPU returns the calling thread's user and system CPU time.
func threadCPU() (user, sys time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// benchBrowser is a pion browser on loopback for benchmarks: it answers
// every offer and reads every track it receives, counting packets.
type benchBrowser struct {
	pc        *webrtc.PeerConnection
	sig       *fakeSignaller
	peer      *Peer
	publishes bool
	active    atomic.Int32 // tracks that carried a packet
	done      chan struct{}
}

func joinBenchBrowser(tb testing.TB, room *Room, name string, publish webrtc.TrackLocal, received *atomic.Int64) *benchBrowser {
	tb.Helper()
	me, se := loopbackEngines(tb, false)
	// No interceptors: the browsers only count what arrives, and their
	// allocations would hide the server's in allocs/fwd.
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	bb := &benchBrowser{pc: pc, sig: newFakeSignaller(), publishes: publish != nil, done: make(chan struct{})}
	tb.Cleanup(func() {
		close(bb.done)
		_ = pc.Close()
	})
	if publish != nil {
		if _, err := pc.AddTrack(publish); err != nil {
			tb.Fatal(err)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		go func() {
			first := true
			buf := make([]byte, 1500)
			for {
				if _, _, err := tr.Read(buf); err != nil {
					return
				}
				if first {
					first = false
					bb.active.Add(1)
				}
				received.Add(1)
			}
		}()
	})
	if bb.peer, err = room.Join(name, bb.sig); err != nil {
		tb.Fatalf("join %s: %v", name, err)
	}
	go func() {
		for {
			select {
			case <-bb.done:
				return
			case sdp := <-bb.sig.offers:
				if err := bb.answer(sdp); err != nil {
					return
				}
			}
		}
	}()
	return bb
}

func (bb *benchBrowser) answer(sdp string) error { return answerOffer(bb.pc, bb.peer, sdp) }

// BenchmarkSRTPProtect encrypts a 100-byte Opus payload (an RTP header with
// the audio level extension) with each SRTP protection profile a browser
// may negotiate, as the SFU does once per forwarded packet. The order of
// SettingEngine.SetSRTPProtectionProfiles (transport.go) follows from it.
func BenchmarkSRTPProtect(b *testing.B) {
	for _, p := range []struct {
		name    string
		profile srtp.ProtectionProfile
	}{
		{"AEAD_AES_128_GCM", srtp.ProtectionProfileAeadAes128Gcm},
		{"AEAD_AES_256_GCM", srtp.ProtectionProfileAeadAes256Gcm},
		{"AES128_CM_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80},
	} {
		b.Run(p.name, func(b *testing.B) {
			keyLen, _ := p.profile.KeyLen()
			saltLen, _ := p.profile.SaltLen()
			ctx, err := srtp.CreateContext(make([]byte, keyLen), make([]byte, saltLen), p.profile)
			if err != nil {
				b.Fatal(err)
			}
			h := rtp.Header{Version: 2, PayloadType: opusPayloadType, SSRC: 1234}
			_ = h.SetExtension(AudioLevelID, []byte{0x80 | 20})
			pkt, err := (&rtp.Packet{Header: h, Payload: make([]byte, 100)}).Marshal()
			if err != nil {
				b.Fatal(err)
			}
			hdrLen := h.MarshalSize()
			dst := make([]byte, 0, 1500)
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for i := 0; b.Loop(); i++ {
				h.SequenceNumber = uint16(i)
				if dst, err = ctx.EncryptRTP(dst[:0], pkt[hdrLen:], &h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
