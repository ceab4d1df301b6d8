package dialplan

import (
	"errors"
	"fmt"
	"testing"
)

func TestDialCodes(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, t.TempDir())
	seen := map[string]string{}
	for i := range 30 {
		slug := fmt.Sprintf("r%d", i)
		r, err := s.AddRoom(ctx, slug, "", "", "de")
		if err != nil {
			t.Fatal(err)
		}
		if len(r.DialCode) != DialCodeLen || r.DialCode[0] == '0' {
			t.Fatalf("room %s: got dial code %q, want %d digits not starting with 0", slug, r.DialCode, DialCodeLen)
		}
		if err := ValidatePIN(r.DialCode); err != nil {
			t.Fatalf("room %s: dial code %q is not all digits", slug, r.DialCode)
		}
		if other, dup := seen[r.DialCode]; dup {
			t.Fatalf("rooms %s and %s: got the same dial code %q", other, slug, r.DialCode)
		}
		seen[r.DialCode] = slug
		got, err := s.RoomByDialCode(ctx, r.DialCode)
		if err != nil || got.Slug != slug {
			t.Errorf("RoomByDialCode(%q): got %q, %v; want %s", r.DialCode, got.Slug, err, slug)
		}
	}
	for _, code := range []string{"", "000000", "12345", "1234567"} {
		if _, err := s.RoomByDialCode(ctx, code); !errors.Is(err, ErrNotFound) {
			t.Errorf("RoomByDialCode(%q): got %v, want ErrNotFound", code, err)
		}
	}
}

func TestMigrationAssignsDialCodes(t *testing.T) {
	dir := t.TempDir()
	writeOldSchema(t, dir, 2)
	s := openTest(t, dir)
	r, err := s.RoomBySlug(t.Context(), "old")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.DialCode) != DialCodeLen {
		t.Fatalf("room from v2: got dial code %q, want %d digits", r.DialCode, DialCodeLen)
	}
	if got, err := s.RoomByDialCode(t.Context(), r.DialCode); err != nil || got.Slug != "old" {
		t.Errorf("RoomByDialCode: got %q, %v; want old", got.Slug, err)
	}
	s.Close()
	again := openTest(t, dir)
	if r2, _ := again.RoomBySlug(t.Context(), "old"); r2.DialCode != r.DialCode {
		t.Errorf("dial code after reopening: got %q, want %q (stable)", r2.DialCode, r.DialCode)
	}
}

func TestSharedNumbers(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, t.TempDir())
	room, err := s.AddRoom(ctx, "team", "", "1234", "en")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddNumber(ctx, "+4930111", "team"); err != nil {
		t.Fatal(err)
	}
	n, err := s.AddSharedNumber(ctx, "0049 30 222", "en")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Number{E164: "+4930222", Shared: true, Lang: "en"}); n != want {
		t.Errorf("AddSharedNumber: got %+v, want %+v", n, want)
	}
	if n, err := s.AddSharedNumber(ctx, "+4930333", ""); err != nil || n.Lang != "de" {
		t.Errorf("AddSharedNumber default lang: got %+v, %v; want lang de", n, err)
	}
	errTests := []struct {
		name    string
		err     error
		wantErr error
	}{
		{"shared twice", second(s.AddSharedNumber(ctx, "+4930222", "de")), ErrExists},
		{"room number as shared", second(s.AddSharedNumber(ctx, "+4930111", "de")), ErrExists},
		{"shared number to a room", second(s.AddNumber(ctx, "+4930222", "team")), ErrExists},
		{"bad lang", second(s.AddSharedNumber(ctx, "+4930444", "fr")), ErrInvalid},
		{"national", second(s.AddSharedNumber(ctx, "030444", "de")), ErrInvalid},
	}
	for _, tc := range errTests {
		if !errors.Is(tc.err, tc.wantErr) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.err, tc.wantErr)
		}
	}
	routes := []struct {
		dialled  string
		wantSlug string
		shared   bool
		wantErr  error
	}{
		{"+4930111", "team", false, nil},
		{"sip:4930222@127.0.0.1", "", true, nil},
		{"+4930999", "", false, ErrNotFound},
		{"abc", "", false, ErrInvalid},
	}
	for _, tc := range routes {
		rt, err := s.RouteNumber(ctx, tc.dialled)
		if !errors.Is(err, tc.wantErr) || rt.Room.Slug != tc.wantSlug || rt.Number.Shared != tc.shared {
			t.Errorf("RouteNumber(%q): got room %q shared %v err %v; want %q %v %v",
				tc.dialled, rt.Room.Slug, rt.Number.Shared, err, tc.wantSlug, tc.shared, tc.wantErr)
		}
	}
	if rt, _ := s.RouteNumber(ctx, "+4930111"); rt.Room.DialCode != room.DialCode || !rt.Room.HasPIN() {
		t.Errorf("RouteNumber room: got %+v, want the room with its code and PIN", rt.Room)
	}
	if _, err := s.RoomForNumber(ctx, "+4930222"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RoomForNumber(shared): got %v, want ErrNotFound", err)
	}
	nums, err := s.Numbers(ctx)
	if err != nil || len(nums) != 3 || !nums[1].Shared || nums[1].RoomSlug != "" || nums[0].RoomSlug != "team" {
		t.Errorf("Numbers: got %+v, %v; want team's number and two shared", nums, err)
	}
	if err := s.RemoveNumber(ctx, "+4930222"); err != nil {
		t.Errorf("RemoveNumber(shared): %v", err)
	}
	if err := s.RemoveRoom(ctx, "team"); err != nil {
		t.Fatal(err)
	}
	if nums, _ := s.Numbers(ctx); len(nums) != 1 || nums[0].E164 != "+4930333" {
		t.Errorf("after removing the room: got %+v, want only the shared +4930333", nums)
	}
}

func second[T any](_ T, err error) error { return err }
