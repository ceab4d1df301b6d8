package e2e

import (
	"errors"
	"syscall"
	"testing"
	"time"
)

// SIGTERM ends the meeting for browsers too: they see the end screen (not the
// reconnect banner), and the server exits.
func TestShutdownEndsMeetingInBrowser(t *testing.T) {
	bin := needBinary(t)
	ctx := deadlineCtx(t, 60*time.Second)
	srv := startServerWith(t, bin, "shutdown: {grace: 2s}", nil, testRoom)
	if err := srv.waitReady(ctx); err != nil {
		t.Fatalf("not ready: %v", err)
	}
	b := startBrowser(t, "")
	if err := b.join(ctx, srv.roomURL(testRoom.slug, "Ann")); err != nil {
		t.Fatalf("browser join: %v", err)
	}
	if _, err := b.waitTiles(ctx, "web", 1); err != nil {
		t.Fatalf("own tile: %v", err)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := poll(ctx, 200*time.Millisecond, func() error {
		shown, err := eval[bool](ctx, b, `!document.getElementById('end-screen').hidden`)
		if err != nil {
			return err
		}
		if !shown {
			return errors.New("end screen still hidden")
		}
		return nil
	})
	if err != nil {
		t.Errorf("browser after SIGTERM: %v", err)
	}
	select {
	case <-srv.exited:
	case <-ctx.Done():
		t.Fatal("server did not exit after SIGTERM")
	}
	if srv.waitErr != nil {
		t.Errorf("server exit: %v, want a clean exit", srv.waitErr)
	}
}
