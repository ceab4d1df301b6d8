package dialplan

import (
	"context"
	"testing"
)

func TestSeedDemo(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	created, err := s.SeedDemo(ctx, "demo", "+4930123456", "")
	if err != nil || !created {
		t.Fatalf("first SeedDemo: got %v, %v; want true, nil", created, err)
	}
	r, err := s.RoomForNumber(ctx, "4930123456")
	if err != nil || r.Slug != "demo" || r.HasPIN() || r.Lang != "de" {
		t.Errorf("demo room: got %+v, %v; want demo without PIN", r, err)
	}
	if err := s.RemoveRoom(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddRoom(ctx, "mine", "", "", ""); err != nil {
		t.Fatal(err)
	}
	created, err = s.SeedDemo(ctx, "demo", "+4930123456", "2468")
	if err != nil || created {
		t.Errorf("SeedDemo with a room present: got %v, %v; want false, nil", created, err)
	}
	s2 := openTest(t, t.TempDir())
	if _, err := s2.SeedDemo(ctx, "demo", "030", ""); err == nil {
		t.Errorf("SeedDemo with a bad number: got nil error, want one")
	}
	if empty, _ := s2.IsEmpty(ctx); !empty {
		t.Errorf("SeedDemo with a bad number created a room")
	}
}
