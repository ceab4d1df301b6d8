package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// baresip is a running baresip 1.0 softphone with a throw-away config.
type baresip struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	dumps  string // where the sndfile module writes dump-*-dec.wav
	cons   *net.UDPConn
	exited chan struct{}
}

// startBaresip dials target (sip:NUMBER@HOST:PORT) with a microphone that
// plays a freq Hz sine; the cons module listens for keys on UDP.
func startBaresip(t *testing.T, target string, freq int) *baresip {
	t.Helper()
	dir := t.TempDir()
	mic := filepath.Join(dir, "mic.wav")
	sox := exec.CommandContext(deadlineCtx(t, 30*time.Second), "sox", "-n", "-r", "8000", "-c", "1", "-b", "16",
		mic, "synth", "60", "sine", itoa(freq), "vol", "0.5")
	if out, err := sox.CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
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
audio_srate 8000
audio_channels 1
rtp_ports %d-%d
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
module cons.so
module_app account.so
module_app menu.so
cons_listen 127.0.0.1:%d
snd_path %s
`, freeUDPPort(t), mic, rtp, rtp+99, consPort, dumps)
	return runBaresip(t, dir, cfg, "<sip:caller@127.0.0.1>;regint=0;audio_codecs=PCMU\n", target, consPort, dumps)
}

// runBaresip starts baresip from config cfg and account line acct in dir
// (extra command-line flags after them), dialling target, and connects to
// its UDP console on consPort; dumps is where its decoder dumps go. The
// process is stopped when the test ends.
func runBaresip(t *testing.T, dir, cfg, acct, target string, consPort int, dumps string, flags ...string) *baresip {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(acct), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &baresip{out: &syncBuffer{}, dumps: dumps, exited: make(chan struct{})}
	b.cmd = exec.Command("baresip", append(flags, "-f", dir, "-e", "/dial "+target)...)
	b.cmd.Stdout, b.cmd.Stderr = b.out, b.out
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start baresip: %v", err)
	}
	go func() { _ = b.cmd.Wait(); close(b.exited) }()
	t.Cleanup(func() { b.stop() })
	conn, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: consPort})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	b.cons = conn
	return b
}

// press types keys on baresip's UDP console: one key per datagram, then
// byte 0x04 to release it (that ends the RFC 4733 event). The pauses pace
// the key presses like a person's; they synchronise nothing.
func (b *baresip) press(t *testing.T, keys string) {
	t.Helper()
	for _, k := range []byte(keys) {
		for _, msg := range []byte{k, 0x04} {
			if _, err := b.cons.Write([]byte{msg}); err != nil {
				t.Fatalf("baresip console: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// stop ends baresip (SIGTERM: it hangs up and closes its WAV dumps).
func (b *baresip) stop() {
	select {
	case <-b.exited:
		return
	default:
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
}

// heard returns what baresip decoded from the call, as 8 kHz samples in [-1, 1].
func (b *baresip) heard(t *testing.T) []float64 {
	t.Helper()
	return b.heardAt(t, 8000)
}

// heardAt returns what baresip decoded, converted by sox to rate Hz, as
// samples in [-1, 1].
func (b *baresip) heardAt(t *testing.T, rate int) []float64 {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(b.dumps, "dump-*-dec.wav"))
	if len(files) != 1 {
		t.Fatalf("baresip dumps: got %v, want one dump-*-dec.wav\n%s", files, tail(b.out.String(), 2000))
	}
	raw := filepath.Join(b.dumps, "dec"+itoa(rate)+".raw")
	cmd := exec.CommandContext(deadlineCtx(t, 30*time.Second), "sox", files[0], "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-r", itoa(rate), raw)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	pcm, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, len(pcm)/2)
	for i := range out {
		out[i] = float64(int16(binary.LittleEndian.Uint16(pcm[2*i:]))) / math.MaxInt16
	}
	return out
}

// countLog polls the server's log until text appears n times.
func countLog(ctx context.Context, s *server, text string, n int) error {
	return poll(ctx, 100*time.Millisecond, func() error {
		if c := strings.Count(s.out.String(), text); c < n {
			return fmt.Errorf("log has %q %d times, want %d", text, c, n)
		}
		return nil
	})
}

// TestBaresipDialsIn: baresip, a real softphone, dials in, types the PIN
// on its keypad (RFC 4733 from its console), joins the room and hears the
// other caller (a sipp phone sending 440 Hz), not its own 1 kHz.
func TestBaresipDialsIn(t *testing.T) {
	needTools(t, "baresip", "sipp", "sox")
	bin := needBinary(t)
	ctx := deadlineCtx(t, 90*time.Second)
	srv := startServer(t, bin, testRoom)
	other := startSipp(t, phoneCall(srv, callerDir(t, 440), 40000, 0))
	if err := countLog(ctx, srv, "caller joined room", 1); err != nil {
		t.Fatalf("sipp caller: %v\n%s", err, other.trace())
	}
	b := startBaresip(t, "sip:"+testNumber+"@"+srv.sipAddr, 1000)
	if err := countLog(ctx, srv, "call answered", 2); err != nil {
		t.Fatalf("baresip's call: %v\n%s", err, tail(b.out.String(), 2000))
	}
	b.press(t, testPIN+"#")
	if err := countLog(ctx, srv, "caller joined room", 2); err != nil {
		t.Fatalf("baresip did not join with its keypad PIN: %v\n%s", err, tail(b.out.String(), 2000))
	}
	joined := time.Now()
	// Listen for 3 s in the room, then hang up and read what arrived.
	select {
	case <-time.After(3 * time.Second):
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	b.stop()
	audio := b.heard(t)
	last := audio[max(0, len(audio)-16000):] // the last 2 s: in the room
	freq, share := DominantFrequency(last, 8000)
	t.Logf("baresip heard %.0f Hz at %.2f of the power, level %.3f, own 1 kHz at %.3f (%v after joining)",
		freq, share, RMS(last), ToneShare(last, 8000, 1000), time.Since(joined).Round(time.Millisecond))
	if math.Abs(freq-440) > freqTolerance || share < minDominantShare || RMS(last) < minLevel {
		t.Errorf("baresip hears %.0f Hz at %.2f share, level %.3f; want the other caller's 440 Hz", freq, share, RMS(last))
	}
	if own := ToneShare(last, 8000, 1000); own > 0.1 {
		t.Errorf("baresip hears itself: %.2f of the power at 1 kHz, want <= 0.10", own)
	}
}
