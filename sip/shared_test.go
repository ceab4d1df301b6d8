package sip

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"

	"dialroom/dialplan"
)

const (
	sharedNumber = "+4940999000" // shared: asks for a dial-in code, prompts in en
	standupCode  = "424242"      // dial-in code of "standup" (PIN 1234)
	lobbyCode    = "515151"      // dial-in code of "lobby" (no PIN)
)

// recordingPrompts plays tonePrompts and records which prompt was asked
// for in which language.
type recordingPrompts struct {
	mu     sync.Mutex
	played []string // "lang/prompt"
}

func (r *recordingPrompts) Prompt(lang string, p dialplan.Prompt) []int16 {
	r.mu.Lock()
	r.played = append(r.played, lang+"/"+string(p))
	r.mu.Unlock()
	return tonePrompts{}.Prompt(lang, p)
}

func (r *recordingPrompts) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.played)
}

// skipQueued drops the RTP packets received so far, so that the next
// waitLoudAudio hears the next prompt.
func (p *phone) skipQueued() {
	for len(p.packets) > 0 {
		<-p.packets
	}
}

// A caller of a shared number types a room's dial-in code, then the room's
// PIN, and joins that room; the prompts switch to the room's language.
func TestSharedNumberCodeThenPIN(t *testing.T) {
	rec := &recordingPrompts{}
	env := startServerWith(t, Config{}, rec)
	p := newPhone(t, env.srv.UDPAddr())
	p.call(sharedNumber)
	p.waitLoudAudio(testWaitLong)
	p.sendDTMFLikeSipp(standupCode + "#")
	p.skipQueued()
	p.waitLoudAudio(testWaitLong)
	p.sendDTMFLikeSipp("1234#")
	j := env.waitJoin(t)
	if j.slug != "standup" {
		t.Errorf("joined room: got %q, want standup", j.slug)
	}
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
	want := []string{"en/enter_code", "en/enter_pin", "en/welcome"}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Errorf("prompts: got %v, want %v", got, want)
	}
}

// The code of a room without PIN leads straight in, in the room's language.
func TestSharedNumberOpenRoom(t *testing.T) {
	rec := &recordingPrompts{}
	env := startServerWith(t, Config{}, rec)
	p := newPhone(t, env.srv.UDPAddr())
	p.call(sharedNumber)
	p.waitLoudAudio(testWaitLong)
	p.sendDTMFLikeSipp(lobbyCode + "#")
	j := env.waitJoin(t)
	if j.slug != "lobby" {
		t.Errorf("joined room: got %q, want lobby", j.slug)
	}
	p.hangup()
	waitClosed(t, j.member.left, "Leave")
	want := []string{"en/enter_code", "de/welcome"}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Errorf("prompts: got %v, want %v", got, want)
	}
}

// Wrong codes end the call after three tries and count against the caller
// like wrong PINs: the next call from the same caller ID is refused.
func TestSharedNumberWrongCodesThrottle(t *testing.T) {
	policy := dialplan.ThrottlePolicy{FreeFails: 3, MaxDelay: time.Second, LockAfter: 3,
		LockFor: time.Hour, MaxLock: time.Hour, Forget: time.Hour}
	rec := &recordingPrompts{}
	env := startServerWith(t, Config{callerPolicy: policy}, rec)
	p := newPhone(t, env.srv.UDPAddr())
	p.call(sharedNumber)
	p.waitLoudAudio(testWaitLong)
	for _, code := range []string{"111111#", "1234#", "999999#"} {
		p.sendDTMFLikeSipp(code)
		p.skipQueued()
		p.waitLoudAudio(testWaitLong)
	}
	p.waitBye(testWaitLong)
	want := []string{"en/enter_code", "en/wrong_code", "en/wrong_code", "en/goodbye"}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Errorf("prompts: got %v, want %v", got, want)
	}
	select {
	case j := <-env.bridge.joins:
		t.Fatalf("got a join into %q after wrong codes, want none", j.slug)
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := p.invite(ctx, sharedNumber, sipgo.AnswerOptions{})
	var resErr *sipgo.ErrDialogResponse
	if !errors.As(err, &resErr) || resErr.Res.StatusCode != 403 {
		t.Fatalf("shared number after 3 wrong codes: got %v, want 403", err)
	}
}
