package sfu

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// TestAudioSenderReportsReachBrowser: a subscriber receives sender reports
// for a forwarded audio track, and their RTP time matches the timestamps
// of the packets arriving at the time (what lip sync needs).
func TestAudioSenderReportsReachBrowser(t *testing.T) {
	m := testManager(t, Config{ICEIPs: []string{"127.0.0.1"}})
	room := m.Room("reports")
	mic, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "ann")
	if err != nil {
		t.Fatal(err)
	}
	a := joinBrowser(t, room, "Ann", mic)
	b := joinBrowser(t, room, "Bob", nil)
	stop := make(chan struct{})
	defer close(stop)
	var level atomic.Int32
	go talkAt(mic, &level, 0, stop)
	tr := b.waitTrack(a.peer.ID())
	var lastTS atomic.Uint32 // of the newest packet received
	go func() {
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			lastTS.Store(pkt.Timestamp)
		}
	}()
	var recv *webrtc.RTPReceiver
	for _, r := range b.pc.GetReceivers() {
		if r.Track() != nil && r.Track().SSRC() == tr.SSRC() {
			recv = r
		}
	}
	if recv == nil {
		t.Fatal("no receiver for the audio track")
	}
	reports := make(chan *rtcp.SenderReport, 16)
	go func() {
		for {
			pkts, _, err := recv.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if sr, ok := p.(*rtcp.SenderReport); ok && sr.SSRC == uint32(tr.SSRC()) {
					select {
					case reports <- sr:
					default:
					}
				}
			}
		}
	}()
	select {
	case sr := <-reports:
		if sr.PacketCount == 0 || sr.OctetCount == 0 {
			t.Errorf("report counts %d packets, %d octets", sr.PacketCount, sr.OctetCount)
		}
		// Within half a second of the newest packet's timestamp.
		if d := int32(sr.RTPTime - lastTS.Load()); d < -24000 || d > 24000 {
			t.Errorf("report's RTP time %d, newest packet's %d", sr.RTPTime, lastTS.Load())
		}
	case <-time.After(testTimeout):
		t.Fatal("no sender report for the audio track")
	}
}

// TestAudioReports: every audio stream of a PeerConnection gets a sender
// report with its packet and octet counts and an RTP time extrapolated from
// its packets, at most reportsPerPacket to a compound packet; video streams
// are left to pion's sender reports.
func TestAudioReports(t *testing.T) {
	f, err := audioReports{}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	writes := make(chan []rtcp.Packet, 16)
	f.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		// The writer marshals before returning; so does this copy.
		b, err := rtcp.Marshal(pkts)
		if err != nil {
			t.Error(err)
		}
		got, err := rtcp.Unmarshal(b)
		if err != nil {
			t.Error(err)
		}
		writes <- got
		return len(b), nil
	}))
	sink := interceptor.RTPWriterFunc(func(h *rtp.Header, p []byte, _ interceptor.Attributes) (int, error) {
		return h.MarshalSize() + len(p), nil
	})
	const streams = reportsPerPacket + 8
	var lastTS [streams]uint32
	start := time.Now()
	for i := range streams {
		w := f.BindLocalStream(&interceptor.StreamInfo{SSRC: uint32(1000 + i), ClockRate: 48000, MimeType: "audio/opus"}, sink)
		for k := range i + 1 {
			lastTS[i] = uint32(5000 + k*opusFrame)
			if _, err := w.Write(&rtp.Header{SequenceNumber: uint16(k), Timestamp: lastTS[i]}, make([]byte, 100), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	video := f.BindLocalStream(&interceptor.StreamInfo{SSRC: 7, ClockRate: 90000, MimeType: "video/VP8"}, sink)
	_, _ = video.Write(&rtp.Header{Timestamp: 1}, make([]byte, 100), nil)
	silent := &interceptor.StreamInfo{SSRC: 8, ClockRate: 48000, MimeType: "audio/opus"}
	f.BindLocalStream(silent, sink) // no packet: no report

	got := map[uint32]*rtcp.SenderReport{}
	deadline := time.After(testTimeout)
	for len(got) < streams {
		select {
		case pkts := <-writes:
			if len(pkts) > reportsPerPacket {
				t.Errorf("%d reports in one packet, want at most %d", len(pkts), reportsPerPacket)
			}
			for _, p := range pkts {
				sr, ok := p.(*rtcp.SenderReport)
				if !ok {
					t.Fatalf("got %T, want sender reports", p)
				}
				got[sr.SSRC] = sr
			}
		case <-deadline:
			t.Fatalf("reports for %d of %d streams", len(got), streams)
		}
	}
	elapsed := time.Since(start)
	for i := range streams {
		sr := got[uint32(1000+i)]
		if sr == nil {
			t.Fatalf("no report for stream %d: %v", i, got)
		}
		if sr.PacketCount != uint32(i+1) || sr.OctetCount != uint32(100*(i+1)) {
			t.Errorf("stream %d: %d packets %d octets, want %d and %d", i, sr.PacketCount, sr.OctetCount, i+1, 100*(i+1))
		}
		// Sampled at packets 1, 17, 33...: behind by at most
		// reportSample−1 frames, ahead by the time since.
		ahead := int64(sr.RTPTime - lastTS[i])
		if ahead < -int64(reportSample-1)*opusFrame || ahead > elapsed.Milliseconds()*48+int64(opusFrame) {
			t.Errorf("stream %d: RTP time %d, last packet's %d, %v later", i, sr.RTPTime, lastTS[i], elapsed)
		}
		if d := time.Since(ntpToTime(sr.NTPTime)); d < 0 || d > elapsed {
			t.Errorf("stream %d: NTP time %v ago", i, d)
		}
	}
	for _, ssrc := range []uint32{7, 8} {
		if got[ssrc] != nil {
			t.Errorf("report for stream %d", ssrc)
		}
	}
	f.UnbindLocalStream(&interceptor.StreamInfo{SSRC: 1000, MimeType: "audio/opus"})
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNTPTime(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want uint64
	}{
		{time.Unix(0, 0), 2208988800 << 32},
		{time.Unix(1, 500_000_000), (2208988801 << 32) | 1<<31},
		{time.Unix(1_800_000_000, 250_000_000), (1_800_000_000+2208988800)<<32 | 1<<30},
	} {
		if got := ntpTime(c.t); got != c.want {
			t.Errorf("ntpTime(%v) = %#x, want %#x", c.t, got, c.want)
		}
		if back := ntpToTime(c.want); back.Sub(c.t).Abs() > time.Microsecond {
			t.Errorf("ntpToTime(%#x) = %v, want %v", c.want, back, c.t)
		}
	}
}

// ntpToTime is the inverse of ntpTime.
func ntpToTime(ntp uint64) time.Time {
	secs := int64(ntp>>32) - 2208988800
	return time.Unix(secs, int64((ntp&0xffffffff)*1e9>>32))
}
