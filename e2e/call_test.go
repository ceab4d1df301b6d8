package e2e

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The room every scenario uses. The PIN has six digits so that the log check
// (no PIN in the server log) cannot trip over an unrelated short number.
const (
	testNumber = "+4930123456"
	testPIN    = "582917"
)

var testRoom = roomSpec{slug: "e2e", name: "E2E", pin: testPIN, number: testNumber}

// freqTolerance is how far (Hz) a measured tone may lie from the one sent:
// G.711, Opus, resampling and the browser's 5.9 Hz FFT bins all blur it.
const freqTolerance = 30

// minDominantShare is the least share of the power (0..1) a tone must hold to
// count as what the caller hears.
const minDominantShare = 0.5

// minLevel is the least RMS level (0..1, about -40 dBFS) that counts as sound.
// The tones are sent at half scale (RMS 0.35).
const minLevel = 0.01

// callerDir returns a fresh working directory for sipp whose caller.ul (the
// caller's voice) is a sine at freq Hz, or silence for 0.
func callerDir(t *testing.T, freq int) string {
	t.Helper()
	dir := t.TempDir()
	makeTone(t, filepath.Join(dir, "caller.ul"), freq, 60, "ul")
	return dir
}

// phoneCall describes a caller dialling the test room with the right PIN.
func phoneCall(srv *server, dir string, holdMs, mediaPort int) sippCall {
	return sippCall{scenario: "caller.xml", dir: dir, target: srv.sipAddr, service: testNumber,
		holdMs: holdMs, keys: map[string]string{"pin": testPIN + "#"}, mediaPort: mediaPort}
}

// TestPhoneAndBrowserHearEachOther: a sipp caller sending 440 Hz and a Chromium
// user sending 660 Hz meet in a room; each must hear the other and the caller
// must not hear itself.
func TestPhoneAndBrowserHearEachOther(t *testing.T) {
	needTools(t, "sipp", "sox", "tshark")
	bin := needBinary(t)
	ctx := deadlineCtx(t, 60*time.Second)
	dir := callerDir(t, 440)
	wav := filepath.Join(dir, "tone660.wav")
	makePulses(t, wav, 660, 60)

	srv := startServer(t, bin, testRoom)
	b := startBrowser(t, wav)
	if err := b.join(ctx, srv.roomURL(testRoom.slug, "Ann")); err != nil {
		t.Fatalf("browser join: %v", err)
	}
	mp := freeUDPPort(t)
	capt := startCapture(t, mp)
	call := startSipp(t, phoneCall(srv, dir, 20000, mp))

	ids, err := b.waitTiles(ctx, "phone", 1)
	if err != nil {
		t.Fatalf("phone tile: %v\n%s", err, call.trace())
	}
	joined := time.Now()
	if p, err := waitPeak(ctx, b, ids[0], 440); err != nil {
		t.Errorf("browser hears the caller: %v", err)
	} else {
		t.Logf("browser hears the caller at %.0f Hz, level %.3f", p.Freq, p.Level)
	}
	if err := waitSpeaking(ctx, b, ids[0]); err != nil {
		t.Errorf("phone tile speaking: %v", err)
	}
	heard, err := waitHeard(ctx, capt, joined, 660)
	if err != nil {
		t.Errorf("caller hears the browser: %v", err)
	} else if share := ToneShare(heard, 8000, 440); share > 0.1 {
		t.Errorf("caller hears itself: got %.2f of its power at 440 Hz, want <= 0.10", share)
	} else {
		f, sh := DominantFrequency(heard, 8000)
		t.Logf("caller hears %.0f Hz (%.2f of the power, tone level %.3f); its own 440 Hz: %.3f", f, sh, toneLevel(heard, 660), share)
	}
	if err := call.wait(ctx); err != nil {
		t.Fatalf("caller: %v", err)
	}
	if _, err := b.waitTiles(ctx, "phone", 0); err != nil {
		t.Errorf("phone tile after hang-up: %v", err)
	}
}

// TestTwoCallersHearEachOther: a second caller (880 Hz) joins the first (440 Hz)
// with a browser in the room; it hears the first caller and not itself, the page
// shows two phone tiles, and a caller's tile vanishes when it hangs up.
func TestTwoCallersHearEachOther(t *testing.T) {
	needTools(t, "sipp", "sox", "tshark")
	bin := needBinary(t)
	ctx := deadlineCtx(t, 75*time.Second)
	dirA, dirB := callerDir(t, 440), callerDir(t, 880)
	wav := filepath.Join(dirA, "tone660.wav")
	makePulses(t, wav, 660, 60)

	srv := startServer(t, bin, testRoom)
	b := startBrowser(t, wav)
	if err := b.join(ctx, srv.roomURL(testRoom.slug, "Ann")); err != nil {
		t.Fatalf("browser join: %v", err)
	}
	callA := startSipp(t, phoneCall(srv, dirA, 40000, 0))
	idsA, err := b.waitTiles(ctx, "phone", 1)
	if err != nil {
		t.Fatalf("first phone tile: %v\n%s", err, callA.trace())
	}
	mpB := freeUDPPort(t)
	capt := startCapture(t, mpB)
	callB := startSipp(t, phoneCall(srv, dirB, 12000, mpB))
	ids, err := b.waitTiles(ctx, "phone", 2)
	if err != nil {
		t.Fatalf("second phone tile: %v\n%s", err, callB.trace())
	}
	joinedB := time.Now()
	idB := otherID(ids, idsA[0])
	if p, err := waitPeak(ctx, b, idB, 880); err != nil {
		t.Errorf("browser hears the second caller: %v", err)
	} else {
		t.Logf("browser hears the second caller at %.0f Hz, level %.3f", p.Freq, p.Level)
	}
	if heard, err := waitTone(ctx, capt, joinedB, 440, 0.2); err != nil {
		t.Errorf("second caller hears the first: %v", err)
	} else if share := ToneShare(heard, 8000, 880); share > 0.1 {
		t.Errorf("second caller hears itself: got %.2f of its power at 880 Hz, want <= 0.10", share)
	} else {
		t.Logf("second caller hears 440 Hz at %.2f of the power, 660 Hz at %.2f, its own 880 Hz at %.3f",
			ToneShare(heard, 8000, 440), ToneShare(heard, 8000, 660), share)
	}
	if err := callB.wait(ctx); err != nil {
		t.Fatalf("second caller: %v", err)
	}
	left, err := b.waitTiles(ctx, "phone", 1)
	if err != nil {
		t.Fatalf("after the second caller hung up: %v", err)
	}
	if left[0] != idsA[0] {
		t.Errorf("remaining phone tile: got %s, want the first caller's %s", left[0], idsA[0])
	}
	if !callA.running() {
		t.Fatalf("first caller ended early: %v", callA.wait(ctx))
	}
	if err := callA.wait(ctx); err != nil {
		t.Fatalf("first caller: %v", err)
	}
	if _, err := b.waitTiles(ctx, "phone", 0); err != nil {
		t.Errorf("after both hung up: %v", err)
	}
}

// TestThreeWrongPINsHangUp: after three wrong PINs the server says goodbye and
// sends BYE; the scenario only completes (sipp exits 0) if that BYE arrives.
func TestThreeWrongPINsHangUp(t *testing.T) {
	needTools(t, "sipp", "sox")
	bin := needBinary(t)
	ctx := deadlineCtx(t, 60*time.Second)
	srv := startServer(t, bin, testRoom)
	call := startSipp(t, sippCall{scenario: "wrong_pin.xml", dir: callerDir(t, 0), target: srv.sipAddr,
		service: testNumber, keys: map[string]string{"pin": "000000#"}})
	if err := call.wait(ctx); err != nil {
		t.Fatalf("three wrong PINs: want the server's BYE: %v", err)
	}
}

// TestInviteWithoutCallIDGets400: RFC 3261 section 8.1.1 makes Call-ID
// mandatory; a request that lacks it over UDP is answered 400.
func TestInviteWithoutCallIDGets400(t *testing.T) {
	needTools(t)
	bin := needBinary(t)
	ctx := deadlineCtx(t, 30*time.Second)
	srv := startServer(t, bin, testRoom)
	invite := strings.Replace(inviteRequest, "Call-ID: {rand}@127.0.0.1\r\n", "", 1)
	code, resp, err := sipUDP(ctx, srv.sipAddr, invite, 5*time.Second)
	if err != nil {
		t.Fatalf("INVITE without Call-ID: %v", err)
	}
	if code != 400 {
		t.Errorf("INVITE without Call-ID: got %d, want 400\n%s", code, resp)
	}
	if code, _, err := sipUDP(ctx, srv.sipAddr, optionsRequest, 5*time.Second); err != nil || code != 200 {
		t.Errorf("OPTIONS afterwards: got %d, %v, want 200", code, err)
	}
}

// inviteRequest is an INVITE to the test number with a G.711 offer.
var inviteRequest = "INVITE sip:" + testNumber + "@{target} SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP {local};branch=z9hG4bK{rand};rport\r\n" +
	"Max-Forwards: 70\r\n" +
	"From: <sip:e2e@{local}>;tag={rand}\r\n" +
	"To: <sip:" + testNumber + "@{target}>\r\n" +
	"Call-ID: {rand}@127.0.0.1\r\n" +
	"CSeq: 1 INVITE\r\n" +
	"Contact: <sip:e2e@{local}>\r\n" +
	"Content-Type: application/sdp\r\n" +
	"Content-Length: " + itoa(len(inviteSDP)) + "\r\n\r\n" +
	inviteSDP

// inviteSDP is the offer of inviteRequest; its length is in Content-Length.
const inviteSDP = "v=0\r\n" +
	"o=e2e 1 1 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"c=IN IP4 127.0.0.1\r\n" +
	"t=0 0\r\n" +
	"m=audio 9 RTP/AVP 0 8 96\r\n" +
	"a=rtpmap:96 telephone-event/8000\r\n"

// otherID returns the ID in ids that is not id.
func otherID(ids []string, id string) string {
	for _, x := range ids {
		if x != id {
			return x
		}
	}
	return ""
}

// waitPeak polls audioPeak(id) until the browser hears freq ± freqTolerance at
// minLevel or more, and returns the last measurement.
func waitPeak(ctx context.Context, b *browser, id string, freq float64) (peak, error) {
	var last peak
	err := poll(ctx, 250*time.Millisecond, func() error {
		var err error
		if last, err = b.audioPeak(ctx, id); err != nil {
			return err
		}
		if math.Abs(last.Freq-freq) > freqTolerance || last.Level < minLevel {
			return fmt.Errorf("got %.0f Hz at level %.3f, want %.0f±%d Hz at >= %.2f",
				last.Freq, last.Level, freq, freqTolerance, minLevel)
		}
		return nil
	})
	return last, err
}

// waitSpeaking polls until the tile of id has data-speaking="true".
func waitSpeaking(ctx context.Context, b *browser, id string) error {
	js := fmt.Sprintf(`document.querySelector('[data-participant=%q]')?.dataset.speaking ?? "no tile"`, id)
	return poll(ctx, 200*time.Millisecond, func() error {
		got, err := eval[string](ctx, b, js)
		if err != nil {
			return err
		}
		if got != "true" {
			return fmt.Errorf("got data-speaking=%q, want \"true\"", got)
		}
		return nil
	})
}

// lastSecond returns the audio of the last second that the capture received
// after since, or an error while that holds less than 0.8 s of audio (the
// server sends 50 packets of 20 ms a second, silence included).
func lastSecond(c *capture, since time.Time) ([]float64, error) {
	audio, n, err := c.lastAudio(since, time.Second)
	if err != nil {
		return nil, err
	}
	if len(audio) < 6400 {
		return nil, fmt.Errorf("got %d samples (%d packets) in the last second, want >= 6400", len(audio), n)
	}
	return audio, nil
}

// toneLevel returns the RMS level (0..1) of the part of audio that is a tone at
// freq: the prompts' tail or noise in the same window does not count.
func toneLevel(audio []float64, freq float64) float64 {
	return RMS(audio) * math.Sqrt(ToneShare(audio, 8000, freq))
}

// waitHeard polls until the caller's last second of received audio (after
// since) is dominated by freq ± freqTolerance, holding minDominantShare of the
// power at minLevel or more; it returns that second. The share keeps the tail
// of the welcome prompt, which can overlap the join, out of the verdict.
func waitHeard(ctx context.Context, c *capture, since time.Time, freq float64) ([]float64, error) {
	var audio []float64
	err := poll(ctx, 250*time.Millisecond, func() error {
		var err error
		if audio, err = lastSecond(c, since); err != nil {
			return err
		}
		got, share := DominantFrequency(audio, 8000)
		level := toneLevel(audio, freq)
		if math.Abs(got-freq) > freqTolerance || share < minDominantShare || level < minLevel {
			return fmt.Errorf("got %.0f Hz (%.2f of the power, tone level %.3f), want %.0f±%d Hz (>= %.2f of the power, level >= %.2f)",
				got, share, level, freq, freqTolerance, minDominantShare, minLevel)
		}
		return nil
	})
	return audio, err
}

// waitTone polls until at least share of the caller's last second of received
// audio (after since) lies in a tone at freq, for mixes where freq need not
// dominate; it returns that second.
func waitTone(ctx context.Context, c *capture, since time.Time, freq, share float64) ([]float64, error) {
	var audio []float64
	err := poll(ctx, 250*time.Millisecond, func() error {
		var err error
		if audio, err = lastSecond(c, since); err != nil {
			return err
		}
		if got := ToneShare(audio, 8000, freq); got < share || toneLevel(audio, freq) < minLevel {
			dom, _ := DominantFrequency(audio, 8000)
			return fmt.Errorf("got %.2f of the power at %.0f Hz (tone level %.3f, dominant %.0f Hz), want >= %.2f at >= %.2f",
				got, freq, toneLevel(audio, freq), dom, share, minLevel)
		}
		return nil
	})
	return audio, err
}
