package e2e

import (
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// launchTLSServer starts "dialroom serve" like startServer, with a SIP
// TLS listener on tlsAddr presenting certFile, and extraSIP added to the
// sip section.
func launchTLSServer(t *testing.T, bin, tlsAddr, certFile, keyFile, extraSIP string, rooms ...roomSpec) *server {
	t.Helper()
	data := t.TempDir()
	for _, r := range rooms {
		addRoom(t, bin, data, r)
	}
	base := rtpPortBase()
	yaml := fmt.Sprintf(`demo: {enabled: false}
log: {level: debug}
shutdown: {grace: 2s}
webrtc: {ice_ips: [127.0.0.1]}
sip:
  media_ip: 127.0.0.1
  rtp_port_min: %d
  rtp_port_max: %d
  tls: {listen: %q, cert_file: %q, key_file: %q}
%s
`, base, base+99, tlsAddr, certFile, keyFile, extraSIP)
	cfg := filepath.Join(data, "dialroom.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &server{
		httpAddr: net.JoinHostPort("127.0.0.1", itoa(freeTCPPort(t))),
		sipAddr:  net.JoinHostPort("127.0.0.1", itoa(freeSIPPort(t))),
		out:      &syncBuffer{},
		exited:   make(chan struct{}),
	}
	s.cmd = exec.Command(bin, "serve", "-config", cfg, "-data", data, "-http", s.httpAddr, "-sip", s.sipAddr)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start dialroom serve: %v", err)
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() { s.stop(t, rooms) })
	if err := s.waitReady(deadlineCtx(t, 20*time.Second)); err != nil {
		t.Fatalf("dialroom serve not ready: %v", err)
	}
	return s
}

// startSecureBaresip is startBaresip over SIP/TLS (the server's
// certificate checked against caFile) with mandatory SRTP: the srtp
// module, RTP/SAVP with SDES keys.
func startSecureBaresip(t *testing.T, target, caFile string, freq int) *baresip {
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
	rtp := 30000 + int(time.Now().UnixNano()%20)*100 // above the server's RTP range, below the ephemeral ports
	cfg := fmt.Sprintf(`poll_method epoll
sip_listen 127.0.0.1:%d
sip_cafile %s
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
module srtp.so
module_app account.so
module_app menu.so
cons_listen 127.0.0.1:%d
snd_path %s
`, freeTCPPort(t), caFile, mic, rtp, rtp+99, consPort, dumps)
	return runBaresip(t, dir, cfg, "<sip:caller@127.0.0.1;transport=tls>;regint=0;audio_codecs=PCMU;mediaenc=srtp-mand\n", target, consPort, dumps)
}

// TestBaresipOverTLSWithSRTP: baresip dials in over SIP/TLS with
// mandatory SRTP, types the PIN (RFC 4733 events inside SRTP, so the
// server decrypted them), joins, and hears the other caller's 440 Hz
// (sipp, plain RTP) after decrypting what the server sent. The server
// logs the call as TLS and SRTP and never logs a key.
func TestBaresipOverTLSWithSRTP(t *testing.T) {
	needTools(t, "baresip", "sipp", "sox")
	bin := needBinary(t)
	ctx := deadlineCtx(t, 90*time.Second)
	cert, key := writeSelfSigned(t, t.TempDir())
	tlsAddr := net.JoinHostPort("127.0.0.1", itoa(freeTCPPort(t)))
	srv := launchTLSServer(t, bin, tlsAddr, cert, key, "", testRoom)
	other := startSipp(t, phoneCall(srv, callerDir(t, 440), 40000, 0))
	if err := countLog(ctx, srv, "caller joined room", 1); err != nil {
		t.Fatalf("sipp caller: %v\n%s", err, other.trace())
	}
	b := startSecureBaresip(t, "sip:"+testNumber+"@"+tlsAddr+";transport=tls", cert, 1000)
	if err := countLog(ctx, srv, "call answered", 2); err != nil {
		t.Fatalf("baresip's call: %v\n%s", err, tail(b.out.String(), 2000))
	}
	answered := srv.out.String()[strings.LastIndex(srv.out.String(), "call answered"):]
	answered, _, _ = strings.Cut(answered, "\n")
	if !strings.Contains(answered, "srtp=AES_CM_128_HMAC_SHA1_80") || !strings.Contains(answered, "transport=TLS") {
		t.Errorf("baresip's call was logged as %q, want transport=TLS and srtp=AES_CM_128_HMAC_SHA1_80", answered)
	}
	b.press(t, testPIN+"#")
	if err := countLog(ctx, srv, "caller joined room", 2); err != nil {
		t.Fatalf("baresip did not join with its keypad PIN: %v\n%s", err, tail(b.out.String(), 2000))
	}
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
	t.Logf("baresip (TLS, SRTP) heard %.0f Hz at %.2f of the power, level %.3f", freq, share, RMS(last))
	if math.Abs(freq-440) > freqTolerance || share < minDominantShare || RMS(last) < minLevel {
		t.Errorf("baresip hears %.0f Hz at %.2f share, level %.3f; want the other caller's 440 Hz", freq, share, RMS(last))
	}
	if strings.Contains(srv.out.String(), "inline:") {
		t.Error("the server log contains an SRTP key (inline:)")
	}
}

// TestSIPTLSCertificateRenewal: the SIP TLS listener presents the
// configured certificate and, once the files are replaced (a renewal),
// the new one on the next connection, without a restart or signal.
func TestSIPTLSCertificateRenewal(t *testing.T) {
	needTools(t)
	bin := needBinary(t)
	ctx := deadlineCtx(t, 60*time.Second)
	cert, key := writeSelfSigned(t, t.TempDir())
	first := fingerprint(t, cert)
	tlsAddr := net.JoinHostPort("127.0.0.1", itoa(freeTCPPort(t)))
	launchTLSServer(t, bin, tlsAddr, cert, key, "", testRoom)
	if got := servedFingerprint(t, tlsAddr); got != first {
		t.Fatal("the SIP TLS listener does not present the configured certificate")
	}
	newCert, newKey := writeSelfSigned(t, t.TempDir())
	for src, dst := range map[string]string{newCert: cert, newKey: key} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+".new", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(dst+".new", dst); err != nil {
			t.Fatal(err)
		}
	}
	renewed := fingerprint(t, cert)
	err := poll(ctx, 100*time.Millisecond, func() error {
		if servedFingerprint(t, tlsAddr) != renewed {
			return fmt.Errorf("still the old certificate")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("after renewal: %v", err)
	}
}
