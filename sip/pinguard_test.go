package sip

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/emiago/sipgo"

	"dialroom/dialplan"
)

// Failed PINs count across calls: the wrong-PIN prompt comes later and
// later, then the caller ID is refused (403) while another caller on the
// same trunk still gets in.
func TestPINThrottleAcrossCalls(t *testing.T) {
	policy := dialplan.ThrottlePolicy{FreeFails: 1, MaxDelay: time.Second, LockAfter: 3,
		LockFor: time.Hour, MaxLock: time.Hour, Forget: time.Hour}
	env := startServer(t, Config{callerPolicy: policy})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(roomNumber)
	p.waitLoudAudio(testWaitLong)
	p.sendDTMFLikeSipp("9999#")
	// First failure: free, the wrong-PIN prompt follows at once.
	p.waitLoudAudio(testWaitLong)
	p.sendDTMFLikeSipp("1111#")
	// Second failure: the prompt waits 1 s. Skip the packets queued so far.
	for len(p.packets) > 0 {
		<-p.packets
	}
	start := time.Now()
	p.waitLoudAudio(testWaitLong)
	if d := time.Since(start); d < 800*time.Millisecond {
		t.Errorf("wrong-PIN prompt after the 2nd failure came %v after the PIN, want a delay of about 1 s", d)
	}
	p.sendDTMFLikeSipp("4321#")
	p.waitBye(testWaitLong)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := p.invite(ctx, roomNumber, sipgo.AnswerOptions{})
	var resErr *sipgo.ErrDialogResponse
	if !errors.As(err, &resErr) || resErr.Res.StatusCode != 403 {
		t.Fatalf("call after 3 failures: got %v, want 403", err)
	}
	// Rooms without PIN stay open to a locked-out caller.
	other := newPhone(t, env.srv.UDPAddr())
	other.call(openNumber)
	j := env.waitJoin(t)
	other.hangup()
	waitClosed(t, j.member.left, "Leave")
	// Another caller on the same trunk is not affected.
	q := newPhone(t, env.srv.UDPAddr())
	q.from = "+4989555666"
	q.call(roomNumber)
	q.waitLoudAudio(testWaitLong)
	q.sendDTMFLikeSipp("1234#")
	j = env.waitJoin(t)
	q.hangup()
	waitClosed(t, j.member.left, "Leave")
}
