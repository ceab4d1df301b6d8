package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// silenceLevel is the audioPeak level (RMS, 0..1, about -60 dBFS) below which
// the audio a browser receives from a participant counts as silence.
const silenceLevel = 0.001

// screenshotDir is where the e2e tests leave screenshots for a person to look
// at; it outlives the test, unlike t.TempDir.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "dialroom-e2e-screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot dir: %v", err)
	}
	return dir
}

// screenshot saves a 1280x800 PNG of b's page as name.png in screenshotDir and
// logs the path. It never fails the test: a screenshot is a by-product.
func (b *browser) screenshot(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	ctx, cancel := b.bound(ctx)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(screenshotDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", path)
}

// tab opens another tab in b's Chromium; it shares the fake devices.
func (b *browser) tab(t *testing.T) *browser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	// The first action opens the tab; it must not carry a deadline, or the
	// tab closes when the deadline's context ends.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return &browser{ctx: ctx, output: b.output}
}

// do runs actions in b's tab, bounded by ctx.
func (b *browser) do(ctx context.Context, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// waitJS polls until the boolean expression js is true in b's page.
func (b *browser) waitJS(ctx context.Context, js string) error {
	return poll(ctx, 200*time.Millisecond, func() error {
		ok, err := eval[bool](ctx, b, js)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("got false, want true: %s", js)
		}
		return nil
	})
}

// sessionID returns the participant ID of the page's own session.
func (b *browser) sessionID(ctx context.Context) (string, error) {
	var id string
	err := poll(ctx, 200*time.Millisecond, func() error {
		var err error
		id, err = eval[string](ctx, b, `window.dialroom.session()?.id || ""`)
		if err == nil && id == "" {
			err = fmt.Errorf("no session yet")
		}
		return err
	})
	return id, err
}

// sendChat sends text from b's chat panel to the conversation open there.
func (b *browser) sendChat(ctx context.Context, text string) error {
	return b.do(ctx, chromedp.SendKeys(`#chat-input`, text), chromedp.Click(`#chat-form button[type=submit]`))
}

// modLink returns the moderator link of room slug for a user called name.
func modLink(t *testing.T, bin string, srv *server, slug, name string) string {
	t.Helper()
	path := strings.TrimSpace(cliOutput(t, bin, "admin", "modlink", slug, "-data", dataDir(t, srv)))
	return "http://" + srv.httpAddr + path + "&name=" + name
}

// TestMeetingWithPhoneCaller: Ann (moderator link) and Bob join in Chromium
// and a sipp caller sends 440 Hz with the PIN as RFC 4733 events. Both pages
// show one phone tile; room chat reaches Bob; a private message reaches Bob
// and not Carl (a third tab); Ann mutes the caller and Bob's page stops
// hearing 440 Hz while the tile shows muted; Ann's screen share reaches Bob.
func TestMeetingWithPhoneCaller(t *testing.T) {
	needTools(t, "sipp", "sox")
	bin := needBinary(t)
	ctx := deadlineCtx(t, 150*time.Second)
	dir := callerDir(t, 440)
	wav := filepath.Join(dir, "quiet.wav")
	makeTone(t, wav, 0, 120, "wav")

	srv := startServer(t, bin, testRoom)
	ann, bob := startBrowser(t, wav), startBrowser(t, wav)
	if err := ann.do(ctx, chromedp.Navigate(modLink(t, bin, srv, testRoom.slug, "Ann")),
		chromedp.WaitVisible(`[data-testid=join]`)); err != nil {
		t.Fatalf("Ann opens the moderator link: %v", err)
	}
	ann.screenshot(ctx, t, "e2e-join-screen")
	if err := ann.do(ctx, chromedp.Click(`[data-testid=join]`)); err != nil {
		t.Fatalf("Ann joins: %v", err)
	}
	if err := bob.join(ctx, srv.roomURL(testRoom.slug, "Bob")); err != nil {
		t.Fatalf("Bob joins: %v", err)
	}
	call := startSipp(t, phoneCall(srv, dir, 120000, 0))
	var phoneID string
	for _, b := range []*browser{ann, bob} {
		ids, err := b.waitTiles(ctx, "phone", 1)
		if err != nil {
			t.Fatalf("phone tile: %v\n%s", err, call.trace())
		}
		phoneID = ids[0]
	}
	annID, err := ann.sessionID(ctx)
	if err != nil {
		t.Fatalf("Ann's session: %v", err)
	}
	p, err := waitPeak(ctx, bob, phoneID, 440)
	if err != nil {
		t.Fatalf("Bob hears the caller: %v", err)
	}
	t.Logf("Bob hears the caller at %.0f Hz, level %.3f", p.Freq, p.Level)
	bob.screenshot(ctx, t, "e2e-grid-with-phone")

	checkChat(ctx, t, ann, bob, annID)
	checkPhoneMute(ctx, t, ann, bob, phoneID)
	checkScreenShare(ctx, t, ann, bob, annID)
	if !call.running() {
		t.Errorf("the caller left early: %v\n%s", call.wait(ctx), call.trace())
	}
}

// checkChat: a room message from Ann appears at Bob; a private message from
// Ann to Bob appears in Bob's conversation with Ann, and Carl, who joins in a
// third tab before it is sent, gets no trace of it.
func checkChat(ctx context.Context, t *testing.T, ann, bob *browser, annID string) {
	t.Helper()
	carl := bob.tab(t)
	if err := carl.join(ctx, strings.Replace(bob.mustURL(ctx, t), "name=Bob", "name=Carl", 1)); err != nil {
		t.Fatalf("Carl joins: %v", err)
	}
	if err := carl.waitJS(ctx, `document.querySelectorAll('[data-kind="web"][data-participant]').length === 3`); err != nil {
		t.Fatalf("Carl's grid: %v", err)
	}
	bobID, err := bob.sessionID(ctx)
	if err != nil {
		t.Fatalf("Bob's session: %v", err)
	}
	if err := ann.do(ctx, chromedp.Click(`#chat-toggle`)); err != nil {
		t.Fatal(err)
	}
	if err := ann.sendChat(ctx, "Guten Morgen alle"); err != nil {
		t.Fatalf("Ann's room message: %v", err)
	}
	if err := bob.do(ctx, chromedp.Click(`#chat-toggle`)); err != nil {
		t.Fatal(err)
	}
	if err := bob.waitJS(ctx, `document.getElementById('chat-log').textContent.includes('Guten Morgen alle')`); err != nil {
		t.Errorf("room message at Bob: %v", err)
	}
	if err := ann.do(ctx, chromedp.Click(`#people-toggle`),
		chromedp.Click(fmt.Sprintf(`[data-person=%q] [data-action="message"]`, bobID))); err != nil {
		t.Fatalf("Ann opens a private chat with Bob: %v", err)
	}
	if err := ann.sendChat(ctx, "Nur für Bob"); err != nil {
		t.Fatalf("Ann's private message: %v", err)
	}
	open := fmt.Sprintf(`(() => { const s = document.getElementById('chat-to'); if (!s.querySelector('option[value=%q]')) return false; s.value = %q; s.dispatchEvent(new Event('change')); return document.getElementById('chat-log').textContent.includes('Nur für Bob'); })()`, annID, annID)
	if err := bob.waitJS(ctx, open); err != nil {
		t.Errorf("private message at Bob: %v", err)
	}
	// A room message after the private one is a barrier: once Carl has it,
	// anything the server sent him before it has arrived too.
	if err := ann.do(ctx, chromedp.SetValue(`#chat-to`, "")); err != nil {
		t.Fatal(err)
	}
	if _, err := eval[bool](ctx, ann, `document.getElementById('chat-to').dispatchEvent(new Event('change'))`); err != nil {
		t.Fatal(err)
	}
	if err := ann.sendChat(ctx, "Ende"); err != nil {
		t.Fatalf("Ann's second room message: %v", err)
	}
	if err := carl.do(ctx, chromedp.Click(`#chat-toggle`)); err != nil {
		t.Fatal(err)
	}
	if err := carl.waitJS(ctx, `document.getElementById('chat-log').textContent.includes('Ende')`); err != nil {
		t.Fatalf("room message at Carl: %v", err)
	}
	leaked := fmt.Sprintf(`(() => { const s = document.getElementById('chat-to'); const o = s.querySelector('option[value=%q]'); if (!o) return 'no conversation with Ann'; if (o.textContent.includes('(')) return 'unread: ' + o.textContent; s.value = %q; s.dispatchEvent(new Event('change')); return document.getElementById('chat-log').textContent; })()`, annID, annID)
	if got, err := eval[string](ctx, carl, leaked); err != nil || strings.Contains(got, "Nur für Bob") || strings.HasPrefix(got, "unread") {
		t.Errorf("Carl's conversation with Ann: got %q (%v), want no trace of the private message to Bob", got, err)
	}
	if err := carl.do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Errorf("Carl leaves: %v", err)
	}
}

// mustURL returns the URL of b's page.
func (b *browser) mustURL(ctx context.Context, t *testing.T) string {
	t.Helper()
	u, err := eval[string](ctx, b, `location.href`)
	if err != nil {
		t.Fatalf("page URL: %v", err)
	}
	return u
}

// checkPhoneMute: Ann mutes the caller from the participant list; Bob's tile
// of the caller shows muted and the audio Bob receives from it falls silent.
func checkPhoneMute(ctx context.Context, t *testing.T, ann, bob *browser, phoneID string) {
	t.Helper()
	mute := fmt.Sprintf(`[data-person=%q] [data-action="mute"]`, phoneID)
	// The participant list may still be open from the private chat.
	shown, err := eval[bool](ctx, ann, fmt.Sprintf(`document.querySelector(%q)?.offsetParent != null`, mute))
	if err != nil {
		t.Fatal(err)
	}
	if !shown {
		if err := ann.do(ctx, chromedp.Click(`#people-toggle`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := ann.do(ctx, chromedp.Click(mute)); err != nil {
		t.Fatalf("Ann mutes the caller: %v", err)
	}
	if err := bob.waitJS(ctx, fmt.Sprintf(`!!document.querySelector('.tile[data-participant=%q][data-muted="true"]')`, phoneID)); err != nil {
		t.Errorf("Bob's phone tile not marked muted: %v", err)
	}
	var last peak
	err = poll(ctx, 250*time.Millisecond, func() error {
		var err error
		if last, err = bob.audioPeak(ctx, phoneID); err != nil {
			return err
		}
		if last.Level >= silenceLevel {
			return fmt.Errorf("got %.0f Hz at level %.4f, want level < %.4f", last.Freq, last.Level, silenceLevel)
		}
		return nil
	})
	if err != nil {
		t.Errorf("Bob still hears the muted caller: %v", err)
	} else {
		t.Logf("after the mute Bob hears the caller at level %.5f", last.Level)
	}
}

// checkScreenShare: Ann shares her screen (Chromium's fake capture) and Bob's
// page shows Ann's tile large, marked sharing, with a video of another size
// than her camera's.
func checkScreenShare(ctx context.Context, t *testing.T, ann, bob *browser, annID string) {
	t.Helper()
	video := fmt.Sprintf(`document.querySelector('.tile[data-participant=%q] video')`, annID)
	if err := bob.waitJS(ctx, video+` && `+video+`.videoWidth > 0`); err != nil {
		t.Fatalf("Bob sees no camera video from Ann: %v", err)
	}
	camWidth, err := eval[int](ctx, bob, video+`.videoWidth`)
	if err != nil {
		t.Fatal(err)
	}
	if err := ann.do(ctx, chromedp.Click(`#share`)); err != nil {
		t.Fatalf("Ann shares: %v", err)
	}
	js := fmt.Sprintf(`!!document.querySelector('.tile.main[data-participant=%q][data-sharing="true"]') && %s.videoWidth > 0 && %s.videoWidth !== %d`, annID, video, video, camWidth)
	if err := bob.waitJS(ctx, js); err != nil {
		t.Errorf("Bob's view of Ann's screen share: %v", err)
		return
	}
	got, _ := eval[int](ctx, bob, video+`.videoWidth`)
	t.Logf("Ann's video at Bob: camera %d px wide, screen share %d px", camWidth, got)
}

// TestAdminConsoleRoomIsDialable: with a token from "dialroom admin token",
// the console creates a room with a PIN and assigns it a number; a sipp
// caller then dials that number, enters the PIN, shows up in the console's
// live view of the room and completes its call.
func TestAdminConsoleRoomIsDialable(t *testing.T) {
	needTools(t, "sipp", "sox")
	bin := needBinary(t)
	ctx := deadlineCtx(t, 90*time.Second)
	srv := startServer(t, bin)
	out := cliOutput(t, bin, "admin", "token", "-data", dataDir(t, srv))
	token := strings.TrimSpace(out[strings.LastIndex(out, ":")+1:])
	board := roomSpec{slug: "board", name: "Board", pin: "731946", number: "+4930555010"}
	t.Cleanup(func() { checkNoPIN(t, srv.out.String(), board) })

	admin := startBrowser(t, "")
	if err := admin.do(ctx,
		chromedp.Navigate("http://"+srv.httpAddr+"/admin"),
		chromedp.SendKeys(`#token`, token),
		chromedp.Click(`#login button[type=submit]`),
		chromedp.WaitVisible(`#room-form`),
		chromedp.SendKeys(`#room-slug`, board.slug),
		chromedp.SendKeys(`#room-name`, board.name),
		chromedp.SendKeys(`#room-pin`, board.pin),
		chromedp.Click(`#room-create`),
	); err != nil {
		t.Fatalf("console creates a room: %v", err)
	}
	if err := admin.waitJS(ctx, `!!document.querySelector('tr[data-room="board"]') && !!document.querySelector('#number-room option[value="board"]')`); err != nil {
		t.Fatalf("new room not listed: %v", err)
	}
	if err := admin.do(ctx,
		chromedp.SendKeys(`#number-e164`, board.number),
		chromedp.SetValue(`#number-room`, board.slug),
		chromedp.Click(`#number-form button[type=submit]`),
	); err != nil {
		t.Fatalf("console assigns a number: %v", err)
	}
	if err := admin.waitJS(ctx, fmt.Sprintf(`!!document.querySelector('[data-number=%q]')`, board.number)); err != nil {
		t.Fatalf("number not listed: %v", err)
	}
	dir := callerDir(t, 440)
	call := startSipp(t, sippCall{scenario: "caller.xml", dir: dir, target: srv.sipAddr, service: board.number,
		holdMs: 10000, keys: map[string]string{"pin": board.pin + "#"}})
	live := `!!document.querySelector('[data-live="board"] [data-person]')`
	if err := admin.waitJS(ctx, live); err != nil {
		t.Fatalf("the caller never reached the room in the live view: %v\n%s", err, call.trace())
	}
	admin.screenshot(ctx, t, "e2e-admin-console")
	// The scenario completes (exit 0) only if the whole call went through:
	// answered, PIN sent, held for -d, hung up with a 200 to its BYE.
	if err := call.wait(ctx); err != nil {
		t.Errorf("caller: %v", err)
	}
}

// TestAdminPasswordLoginOnBinary: "dialroom admin passwd" reads the password
// from stdin; the running server then accepts it at /admin/login, and the
// session cookie reads the API but needs the CSRF token to change it.
func TestAdminPasswordLoginOnBinary(t *testing.T) {
	bin := needBinary(t)
	ctx := deadlineCtx(t, 30*time.Second)
	srv := startServer(t, bin)
	const pw = "e2e admin password"
	cmd := exec.CommandContext(ctx, bin, "admin", "passwd", "-user", "alice", "-data", dataDir(t, srv))
	cmd.Stdin = strings.NewReader(pw + "\n")
	if out, err := cmd.CombinedOutput(); err != nil || strings.Contains(string(out), pw) {
		t.Fatalf("admin passwd: %v\n%s", err, out)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	base := "http://" + srv.httpAddr
	send := func(method, path, body, csrf string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := send("POST", "/admin/login", `{"user":"alice","password":"wrong password"}`, ""); st != 401 {
		t.Errorf("wrong password: got %d %s, want 401", st, body)
	}
	st, body := send("POST", "/admin/login", `{"user":"alice","password":"`+pw+`"}`, "")
	var sess struct{ CSRF string }
	if err := json.Unmarshal([]byte(body), &sess); st != 200 || err != nil || sess.CSRF == "" {
		t.Fatalf("login: got %d %s (%v), want 200 with a CSRF token", st, body, err)
	}
	tests := []struct {
		method, path, body, csrf string
		status                   int
	}{
		{"GET", "/api/v1/rooms", "", "", 200},
		{"POST", "/api/v1/rooms", `{"slug":"x"}`, "", 401},
		{"POST", "/api/v1/rooms", `{"slug":"x"}`, sess.CSRF, 201},
	}
	for _, tt := range tests {
		if st, body := send(tt.method, tt.path, tt.body, tt.csrf); st != tt.status {
			t.Errorf("%s %s (csrf %v): got %d %s, want %d", tt.method, tt.path, tt.csrf != "", st, body, tt.status)
		}
	}
	if strings.Contains(srv.out.String(), pw) {
		t.Errorf("server log contains the admin password")
	}
}
