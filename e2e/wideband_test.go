package e2e

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// baresipCodecs are the codec modules of baresip 1.0 by SDP name.
var baresipCodecs = map[string]string{"PCMU": "g711.so", "PCMA": "g711.so", "G722": "g722.so", "opus": "opus.so"}

// startWidebandBaresip dials target (sip:NUMBER@HOST:PORT) with baresip
// offering only codec ("G722", "opus", "PCMU") and a 16 kHz microphone
// that plays the sum of sines at freqs Hz (none: silence), each at a
// quarter of full scale. Audio devices run at 16 kHz mono; baresip
// resamples to and from the codec's rate itself. It traces SIP (-s), so
// its output holds our SDP answer.
func startWidebandBaresip(t *testing.T, target, codec string, freqs ...float64) *baresip {
	t.Helper()
	dir := t.TempDir()
	mic := filepath.Join(dir, "mic.wav")
	pcm := make([]int16, 60*16000)
	for i := range pcm {
		var v float64
		for _, f := range freqs {
			v += 0.25 * math.Sin(2*math.Pi*f*float64(i)/16000)
		}
		pcm[i] = int16(v * math.MaxInt16)
	}
	writeWAV16k(t, mic, pcm)
	dumps := filepath.Join(dir, "dumps")
	if err := os.Mkdir(dumps, 0o755); err != nil {
		t.Fatal(err)
	}
	consPort := freeUDPPort(t)
	rtp := 30000 + rand.IntN(20)*100 // above the server's RTP range, below the ephemeral ports
	cfg := fmt.Sprintf(`poll_method epoll
sip_listen 127.0.0.1:%d
net_interface 127.0.0.1
audio_player aubridge,sink
audio_alert aubridge,sink
audio_source aufile,%s
ausrc_srate 16000
auplay_srate 16000
ausrc_channels 1
auplay_channels 1
rtp_ports %d-%d
module_path /usr/lib/baresip/modules
module %s
module aufile.so
module aubridge.so
module sndfile.so
module cons.so
module_app account.so
module_app menu.so
cons_listen 127.0.0.1:%d
snd_path %s
`, freeUDPPort(t), mic, rtp, rtp+99, baresipCodecs[codec], consPort, dumps)
	return runBaresip(t, dir, cfg, "<sip:caller@127.0.0.1>;regint=0;audio_codecs="+codec+"\n", target, consPort, dumps, "-s")
}

// writeWAV16k writes pcm as a 16 kHz mono 16-bit WAV file.
func writeWAV16k(t *testing.T, path string, pcm []int16) {
	t.Helper()
	const rate = 16000
	b := make([]byte, 44+2*len(pcm))
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*len(pcm)))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], rate)
	binary.LittleEndian.PutUint32(b[28:], 2*rate)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*len(pcm)))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// answerMedia returns the m= line and the a=rtpmap lines of the SDP answer
// dialroom sent (o=dialroom), as baresip's SIP trace shows it.
func answerMedia(trace string) (mline string, rtpmaps []string) {
	i := strings.Index(trace, "o=dialroom ")
	if i < 0 {
		return "", nil
	}
	for _, line := range strings.Split(trace[i:], "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "m=audio") && mline == "":
			mline = line
		case strings.HasPrefix(line, "a=rtpmap:") && mline != "":
			rtpmaps = append(rtpmaps, line)
		case line == "" && mline != "":
			return mline, rtpmaps
		}
	}
	return mline, rtpmaps
}

// heardWide returns what baresip decoded, as 16 kHz samples in [-1, 1].
func (b *baresip) heardWide(t *testing.T) []float64 { return b.heardAt(t, 16000) }

// wideTone is 6 kHz: above the 4 kHz a G.711 leg can carry, well inside
// the 7 kHz of G.722 and wideband Opus. narrowTone goes with it, so that
// a narrowband talker is heard at all.
const (
	wideTone   = 6000
	narrowTone = 1000
)

// TestWidebandPhones: a baresip caller offering only G.722 (or Opus) gets
// it in our SDP answer, types its PIN, and the 6 kHz part of its 1 kHz +
// 6 kHz tone reaches another caller in the room who listens with G.722.
// From a PCMU caller only the 1 kHz part may arrive: narrowband cannot
// carry 6 kHz, so a 6 kHz tone heard proves the path stayed wideband.
func TestWidebandPhones(t *testing.T) {
	needTools(t, "baresip", "sox")
	bin := needBinary(t)
	for _, tc := range []struct {
		codec  string
		rtpmap string // in our answer
		arrive bool
	}{{"G722", "a=rtpmap:9 G722/8000", true}, {"opus", " opus/48000/2", true}, {"PCMU", "a=rtpmap:0 PCMU/8000", false}} {
		t.Run(tc.codec, func(t *testing.T) {
			ctx := deadlineCtx(t, 90*time.Second)
			srv := startServer(t, bin, testRoom)
			target := "sip:" + testNumber + "@" + srv.sipAddr
			listener := startWidebandBaresip(t, target, "G722")
			if err := countLog(ctx, srv, "call answered", 1); err != nil {
				t.Fatalf("listener's call: %v\n%s", err, tail(listener.out.String(), 2000))
			}
			listener.press(t, testPIN+"#")
			if err := countLog(ctx, srv, "caller joined room", 1); err != nil {
				t.Fatalf("listener did not join: %v\n%s", err, tail(listener.out.String(), 2000))
			}
			talker := startWidebandBaresip(t, target, tc.codec, narrowTone, wideTone)
			if err := countLog(ctx, srv, "call answered", 2); err != nil {
				t.Fatalf("talker's call: %v\n%s", err, tail(talker.out.String(), 2000))
			}
			for _, b := range []struct {
				who    *baresip
				rtpmap string
			}{{listener, "a=rtpmap:9 G722/8000"}, {talker, tc.rtpmap}} {
				m, maps := answerMedia(b.who.out.String())
				if len(maps) == 0 || !strings.Contains(maps[0], b.rtpmap) {
					t.Errorf("our SDP answer has %q with %q, want %q first", m, maps, b.rtpmap)
				}
			}
			talker.press(t, testPIN+"#")
			if err := countLog(ctx, srv, "caller joined room", 2); err != nil {
				t.Fatalf("talker did not join: %v\n%s", err, tail(talker.out.String(), 2000))
			}
			joined := time.Now()
			select {
			case <-time.After(3 * time.Second):
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			}
			listener.stop()
			talker.stop()
			audio := listener.heardWide(t)
			last := audio[max(0, len(audio)-32000):] // the last 2 s: both in the room
			// Judged in 0.5 s blocks, of which most must be right: a busy
			// machine may stall baresip or the server for a moment.
			good, maxWide := 0, 0.0
			for k := 0; k+8000 <= len(last); k += 8000 {
				b := last[k : k+8000]
				wide, narrow := ToneShare(b, 16000, wideTone), ToneShare(b, 16000, narrowTone)
				t.Logf("%s talker, %.1f s before the end: 6 kHz at %.2f and 1 kHz at %.2f of the power, level %.3f",
					tc.codec, float64(len(last)-k)/16000, wide, narrow, RMS(b))
				maxWide = max(maxWide, wide)
				if RMS(b) >= minLevel && narrow >= 0.2 && (!tc.arrive || wide >= 0.2) {
					good++
				}
			}
			t.Logf("listened %v after joining", time.Since(joined).Round(time.Millisecond))
			if good < 3 {
				t.Errorf("%d of 4 blocks have the talker's tone (1 kHz%s at >= 0.20 of the power, level >= %.3f), want at least 3",
					good, map[bool]string{true: " and 6 kHz", false: ""}[tc.arrive], minLevel)
			}
			if !tc.arrive && maxWide > 0.02 {
				t.Errorf("6 kHz at up to %.2f of the power from a PCMU talker, want <= 0.02: 8 kHz audio cannot carry it", maxWide)
			}
		})
	}
}
