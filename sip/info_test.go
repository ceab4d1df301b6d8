package sip

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestParseInfoDTMF(t *testing.T) {
	tests := []struct {
		ct, body string
		want     byte
		wantErr  bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', false},
		{"application/dtmf-relay", "Signal= *\r\nDuration= 250\r\n", '*', false},
		{"Application/DTMF-Relay; charset=utf-8", "signal=#\nduration=100", '#', false},
		{"application/dtmf-relay", "Duration=160\r\nSignal=a\r\n", 'A', false},
		{"application/dtmf-relay", "Signal=11\r\n", '#', false},
		{"application/dtmf-relay", "Signal=10\r\n", '*', false},
		{"application/dtmf-relay", "Duration=160\r\n", 0, true},
		{"application/dtmf-relay", "Signal=E\r\n", 0, true},
		{"application/dtmf-relay", "Signal=16\r\n", 0, true},
		{"application/dtmf", "7", '7', false},
		{"application/dtmf", " 0\r\n", '0', false},
		{"application/dtmf", "11", '#', false},
		{"application/dtmf", "77", 0, true},
		{"application/dtmf", "", 0, true},
		{"application/sdp", "Signal=5", 0, true},
		{"", "Signal=5", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseInfoDTMF(tt.ct, []byte(tt.body))
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseInfoDTMF(%q, %q) = %q, %v; want %q, error %v", tt.ct, tt.body, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrNoInfoDigit) {
			t.Errorf("ParseInfoDTMF(%q, %q) error %v, want ErrNoInfoDigit", tt.ct, tt.body, err)
		}
	}
}

func FuzzParseInfoDTMF(f *testing.F) {
	f.Add("application/dtmf-relay", []byte("Signal=5\r\nDuration=160\r\n"))
	f.Add("application/dtmf", []byte("#"))
	f.Add("application/dtmf-relay;x=y", []byte("signal=11"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		d, err := ParseInfoDTMF(ct, body)
		if err != nil {
			if d != 0 {
				t.Fatalf("digit %q with error %v, want 0", d, err)
			}
			return
		}
		if !isKey(d) {
			t.Fatalf("digit %q is not a keypad key", d)
		}
	})
}

func isKey(d byte) bool {
	return (d >= '0' && d <= '9') || d == '*' || d == '#' || (d >= 'A' && d <= 'D')
}

func TestTakeInfoCSeq(t *testing.T) {
	var ac activeCall
	for _, tt := range []struct {
		seq  uint32
		want bool
	}{{2, true}, {2, false}, {1, false}, {3, true}, {5, true}, {4, false}} {
		if got := ac.takeInfo(tt.seq); got != tt.want {
			t.Errorf("takeInfo(%d) = %v, want %v", tt.seq, got, tt.want)
		}
	}
}

func TestDigitGate(t *testing.T) {
	var g digitGate
	for _, tt := range []struct {
		src  digitSource
		want bool
	}{{srcInfo, true}, {srcRFC4733, false}, {srcInfo, true}, {srcInband, false}} {
		if got := g.accept(tt.src); got != tt.want {
			t.Errorf("accept(%d) = %v, want %v", tt.src, got, tt.want)
		}
	}
}

// sendInfo sends one INFO in the phone's dialog and returns the status code.
func (p *phone) sendInfo(ct, body string) int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := sip.NewRequest(sip.INFO, p.dlg.InviteResponse.Contact().Address)
	req.SetBody([]byte(body))
	req.AppendHeader(sip.NewHeader("Content-Type", ct))
	res, err := p.dlg.Do(ctx, req)
	if err != nil {
		p.t.Fatalf("info: %v", err)
	}
	return res.StatusCode
}

// A caller whose carrier relays keys in SIP INFO types the PIN and joins.
func TestInfoDTMFJoins(t *testing.T) {
	for _, ct := range []string{ctDTMFRelay, ctDTMF} {
		t.Run(ct, func(t *testing.T) {
			env := startServer(t, Config{})
			p := newPhone(t, env.srv.UDPAddr())
			p.call(roomNumber)
			p.waitLoudAudio(testWaitLong)
			if got := p.sendInfo("application/media_control+xml", "<x/>"); got != 415 {
				t.Errorf("INFO with an unknown body: got %d, want 415", got)
			}
			for _, k := range []byte("1234#") {
				body := string(k)
				if ct == ctDTMFRelay {
					body = "Signal=" + body + "\r\nDuration=160\r\n"
				}
				if got := p.sendInfo(ct, body); got != 200 {
					t.Fatalf("INFO %q: got %d, want 200", k, got)
				}
			}
			j := env.waitJoin(t)
			if j.slug != "standup" {
				t.Errorf("joined %q, want standup", j.slug)
			}
			p.hangup()
			waitClosed(t, j.member.left, "Leave")
		})
	}
}

// A gateway that relays each key both as RFC 4733 events and in SIP INFO
// must not make the caller type every digit twice: the PIN still works.
func TestDTMFRelayedTwiceCountsOnce(t *testing.T) {
	env := startServer(t, Config{})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(roomNumber)
	p.waitLoudAudio(testWaitLong)
	for _, k := range []byte("1234#") {
		p.sendDTMFLikeSipp(string(k))
		if got := p.sendInfo(ctDTMFRelay, "Signal="+string(k)+"\r\nDuration=200\r\n"); got != 200 {
			t.Fatalf("INFO %q: got %d, want 200", k, got)
		}
	}
	j := env.waitJoin(t)
	if j.slug != "standup" {
		t.Errorf("joined %q, want standup", j.slug)
	}
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
}
