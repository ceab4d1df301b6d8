package sip

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestParseSessionTimer(t *testing.T) {
	tests := []struct {
		name     string
		hdrs     []string
		want     sessionTimer
		tooSmall bool
	}{
		{"none", nil, sessionTimer{}, false},
		{"uac refreshes", []string{"Session-Expires: 1800;refresher=uac", "Supported: timer, 100rel"}, sessionTimer{interval: 1800 * time.Second}, false},
		{"no refresher given", []string{"Session-Expires: 600", "Supported: timer"}, sessionTimer{interval: 600 * time.Second}, false},
		{"uas asked to refresh", []string{"Session-Expires: 600;refresher=uas", "Supported: timer"}, sessionTimer{interval: 600 * time.Second, weRefresh: true}, false},
		{"uac without timer support", []string{"Session-Expires: 600"}, sessionTimer{interval: 600 * time.Second, weRefresh: true}, false},
		{"compact forms", []string{"x: 900;refresher=uac", "k: timer"}, sessionTimer{interval: 900 * time.Second}, false},
		{"too small", []string{"Session-Expires: 30", "Supported: timer"}, sessionTimer{}, true},
		{"garbage ignored", []string{"Session-Expires: soon"}, sessionTimer{}, false},
	}
	for _, tt := range tests {
		lines := append([]string{"INVITE sip:+4940999999@example.com SIP/2.0", hVia, hFrom, hTo, hCallID, "CSeq: 1 INVITE"}, tt.hdrs...)
		got, tooSmall := parseSessionTimer(parseReq(t, lines...), minSessionExpires)
		if got != tt.want || tooSmall != tt.tooSmall {
			t.Errorf("%s: got %+v, tooSmall %v; want %+v, %v", tt.name, got, tooSmall, tt.want, tt.tooSmall)
		}
	}
	if got, want := (sessionTimer{interval: 90 * time.Second}).next(), 60*time.Second; got != want {
		t.Errorf("expiry wait for 90 s: got %v, want %v (interval minus 30 s)", got, want)
	}
	if got, want := (sessionTimer{interval: 1800 * time.Second}).next(), 1768*time.Second; got != want {
		t.Errorf("expiry wait for 1800 s: got %v, want %v (interval minus 32 s)", got, want)
	}
}

// The caller refreshes (refresher=uac): our 200 says so, a refresh by
// UPDATE keeps the call, and a missing refresh ends it with BYE.
func TestSessionTimerCallerRefreshes(t *testing.T) {
	env := startServer(t, Config{minSE: 1})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber, sip.NewHeader("Session-Expires", "3;refresher=uac"), sip.NewHeader("Supported", "timer"))
	if h := p.dlg.InviteResponse.GetHeader("Session-Expires"); h == nil || h.Value() != "3;refresher=uac" {
		t.Errorf("200 Session-Expires %v, want 3;refresher=uac", h)
	}
	if h := p.dlg.InviteResponse.GetHeader("Require"); h == nil || h.Value() != "timer" {
		t.Errorf("200 Require %v, want timer", h)
	}
	// Expiry would come 2 s after the last refresh; refresh at 1 s steps.
	for range 3 {
		select {
		case <-p.byes:
			t.Fatal("call ended although the caller refreshed")
		case <-time.After(time.Second):
		}
		if res := p.inDialog(sip.UPDATE, nil, sip.NewHeader("Session-Expires", "3;refresher=uac")); res.StatusCode != 200 {
			t.Fatalf("refresh: got %d, want 200", res.StatusCode)
		}
	}
	start := time.Now()
	p.waitBye(testWaitLong)
	if d := time.Since(start); d < time.Second {
		t.Errorf("BYE %v after the last refresh, want about 2 s", d)
	}
}

// A caller without timer support leaves the refreshing to us: UPDATEs
// arrive at half the interval and the call stays up.
func TestSessionTimerWeRefresh(t *testing.T) {
	env := startServer(t, Config{minSE: 1})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(openNumber, sip.NewHeader("Session-Expires", "2"))
	if h := p.dlg.InviteResponse.GetHeader("Session-Expires"); h == nil || h.Value() != "2;refresher=uas" {
		t.Errorf("200 Session-Expires %v, want 2;refresher=uas", h)
	}
	for i := range 2 {
		select {
		case req := <-p.updates:
			if h := req.GetHeader("Session-Expires"); h == nil {
				t.Errorf("refresh %d: no Session-Expires", i)
			}
		case <-p.byes:
			t.Fatal("call ended, want refreshes")
		case <-time.After(testWaitLong):
			t.Fatalf("no refresh %d", i)
		}
	}
	p.hangup()
}
