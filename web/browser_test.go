package web

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/rtp"
	"gopkg.in/hraban/opus.v2"

	"dialroom/internal/browsertest"
	"dialroom/sfu"
)

// startChromium starts headless Chromium with fake media and returns a tab.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	tab, _ := browsertest.Start(t, "")
	return tab
}

// waitJS polls the page until js evaluates to true.
func waitJS(ctx context.Context, js string) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last error %v)", js, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func TestBrowserTiles(t *testing.T) {
	tab := startChromium(t)
	srv, mgr := newTestServer(t)
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()

	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/r/demo?name=Ann"),
		chromedp.WaitVisible(`[data-testid=join]`),
	); err != nil {
		t.Fatal(err)
	}
	name, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('name').value`))
	if err != nil || name != "Ann" {
		t.Errorf("name field: got %q (%v), want Ann", name, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=join]`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.querySelectorAll('[data-kind="web"][data-participant]').length === 1`); err != nil {
		t.Fatal(err)
	}
	room := mgr.Room("demo")
	if err := waitPeerConnected(ctx, room); err != nil {
		t.Fatal(err)
	}

	heard := make(sinkCounter, 1)
	defer room.AddAudioSink(heard)()

	phone, err := room.AddPhone(sfu.PhoneInfo{ID: "phone-test", Label: "+49 30 ••• 56"})
	if err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `!!document.querySelector('[data-kind="phone"][data-participant="phone-test"]')`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-heard:
	case <-ctx.Done():
		t.Fatal("the SFU received no audio from the browser")
	}
	checkPhoneTone(ctx, t, tab, phone)
	phone.SetSpeaking(true)
	if err := waitJS(ctx, `document.querySelector('[data-participant="phone-test"]').dataset.speaking === "true"`); err != nil {
		t.Fatal(err)
	}
	phone.Leave()
	if err := waitJS(ctx, `document.querySelectorAll('[data-kind="phone"]').length === 0`); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.querySelectorAll('[data-kind="web"]').length === 1`); err != nil {
		t.Fatal(err)
	}
}

// sinkCounter signals that browser audio arrived.
type sinkCounter chan struct{}

func (s sinkCounter) OnAudio(string, *rtp.Packet) {
	select {
	case s <- struct{}{}:
	default:
	}
}

// checkPhoneTone plays a 440 Hz tone as the phone's Opus track and checks
// that the page hears it through window.dialroom.audioPeak.
func checkPhoneTone(ctx context.Context, t *testing.T, tab context.Context, phone *sfu.Phone) {
	t.Helper()
	enc, err := opus.NewEncoder(48000, 1, opus.AppAudio)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		pcm := make([]int16, 960) // 20 ms at 48 kHz
		buf := make([]byte, 1500)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			for i := range pcm {
				pcm[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(n*960+i)/48000))
			}
			size, err := enc.Encode(pcm, buf)
			if err == nil {
				_ = phone.WriteOpus(buf[:size], 20*time.Millisecond)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	p, err := waitPeak(ctx, tab, `"phone-test"`, 440)
	if err != nil {
		t.Fatalf("phone tone in the page: got %+v (%v), want about 440 Hz", p, err)
	}
}

// audioPeak is what the page's audioPeak measured in a participant's audio.
type audioPeak struct {
	Freq  float64 `json:"freq"`
	Level float64 `json:"level"`
}

// waitPeak waits until the audio the page plays for the participant whose
// ID the JavaScript expression idJS gives peaks at freq Hz (± 20 Hz,
// level above 0.01), until ctx ends. It returns the last measurement; the
// error names the last evaluation's error too.
func waitPeak(ctx, tab context.Context, idJS string, freq float64) (audioPeak, error) {
	var p audioPeak
	var err error // the last evaluation's
	werr := waitCond(ctx, func() bool {
		p, err = chromedp.Run(tab, chromedp.Evaluate[audioPeak](`window.dialroom.audioPeak(`+idJS+`)`, chromedp.EvalAwaitPromise))
		return err == nil && p.Level > 0.01 && math.Abs(p.Freq-freq) < 20
	})
	if werr != nil {
		return p, fmt.Errorf("%w (last error %v)", werr, err)
	}
	return p, nil
}

// participantID is a JavaScript expression for the ID of the participant
// named name, as the page knows it.
func participantID(name string) string {
	return fmt.Sprintf(`[...window.dialroom.session().participants.values()].find((p) => p.name === %q).id`, name)
}

// waitCond polls ok until it returns true or ctx ends.
func waitCond(ctx context.Context, ok func() bool) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !ok() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// waitPeerConnected waits until the room lists one web participant.
func waitPeerConnected(ctx context.Context, room *sfu.Room) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if ps := room.Roster().Participants; len(ps) == 1 && ps[0].Kind == sfu.KindWeb {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("web participant never joined: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// TestBrowserTwoParticipants joins two tabs and checks that each sees the
// other's tile playing video (the fake camera) forwarded by the SFU.
func TestBrowserTwoParticipants(t *testing.T) {
	tab := startChromium(t)
	srv, _ := newTestServer(t)
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	tab2, cancelTab2 := chromedp.NewContext(tab)
	defer cancelTab2()

	for _, tt := range []struct {
		tab  context.Context
		name string
	}{{tab, "Ann"}, {tab2, "Bob"}} {
		if err := chromedp.Do(tt.tab,
			chromedp.Navigate(srv.URL+"/r/demo?name="+tt.name),
			chromedp.Click(`[data-testid=join]`),
		); err != nil {
			t.Fatal(err)
		}
	}
	for i, tb := range []context.Context{tab, tab2} {
		c, stop := context.WithCancel(tb)
		stopAfter := context.AfterFunc(ctx, stop)
		err := waitJS(c, `(() => {
			const v = document.querySelector('.tile:not([data-self]) video');
			return document.querySelectorAll('[data-kind="web"]').length === 2 && !!v && v.videoWidth > 0;
		})()`)
		stopAfter()
		stop()
		if err != nil {
			t.Fatalf("tab %d: %v", i+1, err)
		}
	}
	// Bob leaves: Ann's page drops his tile.
	if err := chromedp.Do(tab2, chromedp.Click(`#leave`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.querySelectorAll('[data-kind="web"]').length === 1`); err != nil {
		t.Fatal(err)
	}
}
