package web

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"dialroom/sfu"
)

// relayOnly makes every RTCPeerConnection of the page use relay candidates
// only, as a browser behind a firewall that lets nothing but TURN through,
// and keeps the connections where the test can read their stats.
const relayOnlyX = `(() => {
  const Orig = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (config) {
    const pc = new Orig({ ...(config || {}), iceTransportPolicy: 'relay' });
    const set = pc.setConfiguration.bind(pc);
    pc.setConfiguration = (c) => set({ ...c, iceTransportPolicy: 'relay' });
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Orig.prototype;
})();`

// selectedLocalType is the candidate type of the browser's side of the
// selected pair ("" while there is none).
const selectedLocalTypeX = `(async () => {
  const pc = window.__pcs[0];
  if (!pc) return '';
  const stats = await pc.getStats();
  for (const s of stats.values()) {
    if (s.type === 'transport' && s.selectedCandidatePairId) {
      const pair = stats.get(s.selectedCandidatePairId);
      const local = pair && stats.get(pair.localCandidateId);
      return local ? local.candidateType : '';
    }
  }
  return '';
})()`

// A browser that may only use relay candidates joins through the embedded
// TURN server with the credentials in the offer, and its microphone reaches
// the room.
func TestZZNegativeTURN(t *testing.T) {
	tab := startChromium(t)
	log := slog.New(slog.DiscardHandler)
	tr, err := sfu.NewTransport(sfu.TransportConfig{ICEIPs: []string{"127.0.0.1"}, UDPListen: "127.0.0.1:0",
		TURN: sfu.TURNConfig{Listen: "127.0.0.1:0", PublicIP: "127.0.0.1", Secret: "browser-test"}}, log)
	tr2, _ := sfu.NewTransport(sfu.TransportConfig{ICEIPs: []string{"127.0.0.1"}, UDPListen: "127.0.0.1:0"}, log)
	defer tr2.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	mgr, err := sfu.NewManager(sfu.Config{ICEIPs: []string{"127.0.0.1"}, Transport: tr2}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{}, testRooms, mgr, log))
	defer func() {
		srv.Close()
		_ = mgr.Close()
	}()
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: relayOnlyX}); err != nil {
		t.Fatal(err)
	}
	room := mgr.Room("demo")
	heard := make(sinkCounter, 1)
	defer room.AddAudioSink(heard)()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/r/demo?name=Ann"),
		chromedp.WaitVisible(`[data-testid=join]`),
		chromedp.Click(`[data-testid=join]`),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitPeerConnected(ctx, room); err != nil {
		t.Fatal(err)
	}
	select {
	case <-heard:
	case <-ctx.Done():
		t.Fatal("the room never got audio from the relayed browser")
	}
	if err := waitJS(ctx, `window.__pcs.length === 1`); err != nil {
		t.Fatal(err)
	}
	var typ string
	deadline := time.Now().Add(20 * time.Second)
	for typ != "relay" && time.Now().Before(deadline) {
		if typ, err = chromedp.Run(ctx, chromedp.Evaluate[string](selectedLocalTypeX, chromedp.EvalAwaitPromise)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // poll the stats until a pair is selected
	}
	if typ != "relay" {
		t.Errorf("browser's selected candidate: got type %q, want relay", typ)
	}
}
