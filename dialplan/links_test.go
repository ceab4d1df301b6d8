package dialplan

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

func TestRoomAccessAndRelink(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	if _, err := s.AddRoom(ctx, "team", "Team", "", ""); err != nil {
		t.Fatal(err)
	}
	p, err := s.RoomLinkPolicy(ctx, "team")
	if err != nil {
		t.Fatalf("RoomLinkPolicy: %v", err)
	}
	if p.Access != AccessOpen || len(p.LinkKey) != 0 || !p.RelinkedAt.IsZero() || p.CreatedAt.IsZero() {
		t.Errorf("new room: got %+v, want open, no link key, never relinked", p)
	}
	if err := s.SetRoomAccess(ctx, "team", AccessSignedIn); err != nil {
		t.Fatalf("SetRoomAccess: %v", err)
	}
	if err := s.SetRoomAccess(ctx, "team", "everyone"); !errors.Is(err, ErrInvalid) {
		t.Errorf("access everyone: got %v, want ErrInvalid", err)
	}
	if err := s.SetRoomAccess(ctx, "nope", AccessOpen); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown room: got %v, want ErrNotFound", err)
	}
	now := time.Unix(1_800_000_000, 0)
	p1, err := s.Relink(ctx, "team", now)
	if err != nil {
		t.Fatalf("Relink: %v", err)
	}
	if p1.Access != AccessSignedIn || len(p1.LinkKey) != linkKeySize || !p1.RelinkedAt.Equal(now) {
		t.Errorf("after relink: got %+v, want signed-in, a %d-byte key, relinked now", p1, linkKeySize)
	}
	p2, err := s.Relink(ctx, "team", now)
	if err != nil || bytes.Equal(p1.LinkKey, p2.LinkKey) {
		t.Errorf("second relink: got key %x after %x (%v), want a new key", p2.LinkKey, p1.LinkKey, err)
	}
	if _, err := s.Relink(ctx, "nope", now); !errors.Is(err, ErrNotFound) {
		t.Errorf("relink unknown room: got %v, want ErrNotFound", err)
	}
	if _, err := s.RoomLinkPolicy(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("policy of unknown room: got %v, want ErrNotFound", err)
	}
}
