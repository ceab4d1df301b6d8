package dialplan

import (
	"errors"
	"strings"
	"testing"
)

func ptr(s string) *string { return &s }

func TestUpdateRoom(t *testing.T) {
	tests := []struct {
		name    string
		change  RoomChange
		wantErr error
		check   func(t *testing.T, r Room)
	}{
		{"nothing", RoomChange{}, nil, func(t *testing.T, r Room) {
			if r.Name != "Team" || r.Lang != "de" || !CheckPIN(r.PINHash, "1234") || !CheckPIN(r.ModPINHash, "9876") {
				t.Errorf("got %+v, want the room unchanged", r)
			}
		}},
		{"name and lang", RoomChange{Name: ptr("Vorstand"), Lang: ptr("en")}, nil, func(t *testing.T, r Room) {
			if r.Name != "Vorstand" || r.Lang != "en" {
				t.Errorf("got name %q lang %q, want Vorstand en", r.Name, r.Lang)
			}
		}},
		{"empty name is the slug", RoomChange{Name: ptr("")}, nil, func(t *testing.T, r Room) {
			if r.Name != "team" {
				t.Errorf("got name %q, want team", r.Name)
			}
		}},
		{"new pin keeps moderator pin", RoomChange{PIN: ptr("5555")}, nil, func(t *testing.T, r Room) {
			if !CheckPIN(r.PINHash, "5555") || CheckPIN(r.PINHash, "1234") || !CheckPIN(r.ModPINHash, "9876") {
				t.Errorf("got PIN hashes that do not match 5555 / 9876")
			}
		}},
		{"no pin removes moderator pin", RoomChange{PIN: ptr("")}, nil, func(t *testing.T, r Room) {
			if r.HasPIN() || r.ModPINHash != "" {
				t.Errorf("got PIN %v moderator hash %q, want both gone", r.HasPIN(), r.ModPINHash)
			}
		}},
		{"new moderator pin", RoomChange{ModeratorPIN: ptr("424242")}, nil, func(t *testing.T, r Room) {
			if !CheckPIN(r.ModPINHash, "424242") {
				t.Errorf("moderator PIN hash does not match 424242")
			}
		}},
		{"remove moderator pin", RoomChange{ModeratorPIN: ptr("")}, nil, func(t *testing.T, r Room) {
			if r.ModPINHash != "" || !r.HasPIN() {
				t.Errorf("got moderator hash %q, PIN %v; want none, PIN kept", r.ModPINHash, r.HasPIN())
			}
		}},
		{"bad lang", RoomChange{Lang: ptr("fr")}, ErrInvalid, nil},
		{"bad name", RoomChange{Name: ptr("a\x00b")}, ErrInvalid, nil},
		{"short pin", RoomChange{PIN: ptr("12")}, ErrInvalid, nil},
		{"letters in moderator pin", RoomChange{ModeratorPIN: ptr("12ab")}, ErrInvalid, nil},
		{"pin equals moderator pin", RoomChange{PIN: ptr("9876")}, ErrInvalid, nil},
		{"moderator pin equals pin", RoomChange{ModeratorPIN: ptr("1234")}, ErrInvalid, nil},
		{"both the same", RoomChange{PIN: ptr("7777"), ModeratorPIN: ptr("7777")}, ErrInvalid, nil},
		{"moderator pin without pin", RoomChange{PIN: ptr(""), ModeratorPIN: ptr("7777")}, ErrInvalid, nil},
		{"new dial code", RoomChange{DialCode: ptr("0815")}, nil, func(t *testing.T, r Room) {
			if r.DialCode != "0815" {
				t.Errorf("got dial code %q, want 0815", r.DialCode)
			}
		}},
		{"eight digit dial code", RoomChange{DialCode: ptr("12345678")}, nil, func(t *testing.T, r Room) {
			if r.DialCode != "12345678" {
				t.Errorf("got dial code %q, want 12345678", r.DialCode)
			}
		}},
		{"dial code too short", RoomChange{DialCode: ptr("123")}, ErrInvalid, nil},
		{"dial code too long", RoomChange{DialCode: ptr("123456789")}, ErrInvalid, nil},
		{"empty dial code", RoomChange{DialCode: ptr("")}, ErrInvalid, nil},
		{"letters in dial code", RoomChange{DialCode: ptr("12a4")}, ErrInvalid, nil},
		{"dial code of another room", RoomChange{DialCode: ptr("424299")}, ErrExists, nil},
		{"taken code with a bad pin", RoomChange{DialCode: ptr("424299"), PIN: ptr("1")}, ErrInvalid, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			s := openTest(t, t.TempDir())
			if _, err := s.AddRoom(ctx, "team", "Team", "1234", "de"); err != nil {
				t.Fatal(err)
			}
			if err := s.SetModeratorPIN(ctx, "team", "9876"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AddRoom(ctx, "other", "Other", "", "de"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.UpdateRoom(ctx, "other", RoomChange{DialCode: ptr("424299")}); err != nil {
				t.Fatal(err)
			}
			before, _ := s.RoomBySlug(ctx, "team")
			got, err := s.UpdateRoom(ctx, "team", tc.change)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got error %v, want %v", err, tc.wantErr)
			}
			stored, serr := s.RoomBySlug(ctx, "team")
			if serr != nil {
				t.Fatal(serr)
			}
			if err != nil {
				if stored != before {
					t.Errorf("failed update changed the room: got %+v, want %+v", stored, before)
				}
				return
			}
			if stored != got {
				t.Errorf("stored room: got %+v, want the returned %+v", stored, got)
			}
			tc.check(t, got)
		})
	}
}

func TestUpdateRoomNotFound(t *testing.T) {
	s := openTest(t, t.TempDir())
	if _, err := s.UpdateRoom(t.Context(), "nope", RoomChange{Name: ptr("x")}); !errors.Is(err, ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}

func TestUpdateRoomDialCodeRoutes(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, t.TempDir())
	old, err := s.AddRoom(ctx, "team", "Team", "", "de")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateRoom(ctx, "team", RoomChange{DialCode: ptr("2468")}); err != nil {
		t.Fatal(err)
	}
	if r, err := s.RoomByDialCode(ctx, "2468"); err != nil || r.Slug != "team" {
		t.Errorf("new code: got %q, %v; want team", r.Slug, err)
	}
	if _, err := s.RoomByDialCode(ctx, old.DialCode); !errors.Is(err, ErrNotFound) {
		t.Errorf("old code: got %v, want ErrNotFound", err)
	}
	if _, err := s.UpdateRoom(ctx, "team", RoomChange{DialCode: ptr("2468")}); err != nil {
		t.Errorf("setting the room's own code again: got %v, want nil", err)
	}
	err = func() error { _, err := s.UpdateRoom(ctx, "team", RoomChange{DialCode: ptr("99")}); return err }()
	if err == nil || strings.Contains(err.Error(), "99") {
		t.Errorf("bad code: got %v, want an error without the code", err)
	}
}
