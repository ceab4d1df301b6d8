package sip

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/emiago/sipgo"

	"dialroom/dialplan"
)

// PIN failures are kept in the database: after a restart (a new Store and
// Server on the same data directory) the guesser is still refused, and
// another caller still gets in.
func TestPINLockoutSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	policy := dialplan.ThrottlePolicy{FreeFails: 5, MaxDelay: time.Second, LockAfter: 3,
		LockFor: time.Hour, MaxLock: time.Hour, Forget: time.Hour}
	store, err := dialplan.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	env := startServer(t, Config{callerPolicy: policy, PINFailures: store})
	p := newPhone(t, env.srv.UDPAddr())
	p.call(roomNumber)
	for _, pin := range []string{"9999#", "1111#", "4321#"} {
		p.waitLoudAudio(testWaitLong)
		p.sendDTMFLikeSipp(pin)
	}
	p.waitBye(testWaitLong)
	if err := env.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store2, err := dialplan.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store2.Close() })
	env2 := startServer(t, Config{callerPolicy: policy, PINFailures: store2})
	again := newPhone(t, env2.srv.UDPAddr())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = again.invite(ctx, roomNumber, sipgo.AnswerOptions{})
	var resErr *sipgo.ErrDialogResponse
	if !errors.As(err, &resErr) || resErr.Res.StatusCode != 403 {
		t.Fatalf("call after 3 failures and a restart: got %v, want 403", err)
	}
	q := newPhone(t, env2.srv.UDPAddr())
	q.from = "+4989555666"
	q.call(roomNumber)
	q.waitLoudAudio(testWaitLong)
	q.sendDTMFLikeSipp("1234#")
	j := env2.waitJoin(t)
	q.hangup()
	waitClosed(t, j.member.left, "Leave")
}
