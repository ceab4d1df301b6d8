package dialplan

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
)

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenCreatesDirAndMigratesOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s := openTest(t, dir)
	ctx := context.Background()
	if _, err := s.AddRoom(ctx, "r", "", "", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	s2 := openTest(t, dir)
	rooms, err := s2.Rooms(ctx)
	if err != nil || len(rooms) != 1 {
		t.Fatalf("after reopen: got %v, %v; want 1 room", rooms, err)
	}
	var v, n int
	if err := s2.db.QueryRow(`SELECT MAX(version), COUNT(*) FROM schema_version`).Scan(&v, &n); err != nil {
		t.Fatal(err)
	}
	if v != len(migrations) || n != 1 {
		t.Errorf("got schema_version %d (%d rows), want %d (1 row)", v, n, len(migrations))
	}
	var mode string
	if err := s2.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("got journal_mode %q, %v; want wal", mode, err)
	}
}

func TestOpenRejectsNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	if _, err := s.db.Exec(`UPDATE schema_version SET version = 999`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s2, err := Open(dir); err == nil {
		s2.Close()
		t.Errorf("Open with schema 999: got nil error, want one")
	}
	if _, err := Open(""); err == nil {
		t.Errorf("Open(\"\"): got nil error, want one")
	}
}

func TestRooms(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	if empty, err := s.IsEmpty(ctx); err != nil || !empty {
		t.Fatalf("IsEmpty on new store: got %v, %v; want true", empty, err)
	}
	r, err := s.AddRoom(ctx, "team-1", "Team One", "4711", "en")
	if err != nil {
		t.Fatal(err)
	}
	if r.ID == 0 || r.Slug != "team-1" || r.Name != "Team One" || r.Lang != "en" || !r.HasPIN() || r.CreatedAt.IsZero() {
		t.Errorf("got %+v, want the room with an ID, a PIN hash and a time", r)
	}
	if r.PINHash == "4711" || !CheckPIN(r.PINHash, "4711") {
		t.Errorf("got PIN hash %q, want a hash of the PIN", r.PINHash)
	}
	d, err := s.AddRoom(ctx, "demo", "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "demo" || d.Lang != "de" || d.HasPIN() {
		t.Errorf("got %+v, want name demo, lang de, no PIN", d)
	}
	got, err := s.RoomBySlug(ctx, "team-1")
	if err != nil || got != r {
		t.Errorf("RoomBySlug: got %+v, %v; want %+v", got, err, r)
	}
	rooms, err := s.Rooms(ctx)
	if err != nil || len(rooms) != 2 || rooms[0].Slug != "demo" || rooms[1].Slug != "team-1" {
		t.Errorf("Rooms: got %+v, %v; want demo, team-1", rooms, err)
	}
	if empty, err := s.IsEmpty(ctx); err != nil || empty {
		t.Errorf("IsEmpty: got %v, %v; want false", empty, err)
	}
	if err := s.RemoveRoom(ctx, "demo"); err != nil {
		t.Errorf("RemoveRoom: %v", err)
	}
	if _, err := s.RoomBySlug(ctx, "demo"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RoomBySlug after remove: got %v, want ErrNotFound", err)
	}
}

func TestRoomErrors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	if _, err := s.AddRoom(ctx, "demo", "", "", ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		slug, name, pin, lang string
		want                  error
		msg                   string
	}{
		{"demo", "", "", "", ErrExists, `room "demo" already exists`},
		{"", "", "", "", ErrInvalid, "room name must be 1 to 64 characters"},
		{"Demo", "", "", "", ErrInvalid, `room name "Demo" may contain only a-z, 0-9 and -`},
		{"-x", "", "", "", ErrInvalid, `room name "-x" must not start or end with -`},
		{"x", "", "123", "", ErrInvalid, "PIN must be 4 to 12 digits"},
		{"x", "", "1234567890123", "", ErrInvalid, "PIN must be 4 to 12 digits"},
		{"x", "", "12a4", "", ErrInvalid, "PIN must be 4 to 12 digits"},
		{"x", "", "", "fr", ErrInvalid, `language "fr" is not supported (de, en)`},
		{"x", "a\nb", "", "", ErrInvalid, "room title must not contain control characters"},
	}
	for _, tt := range tests {
		_, err := s.AddRoom(ctx, tt.slug, tt.name, tt.pin, tt.lang)
		if !errors.Is(err, tt.want) || err.Error() != tt.msg {
			t.Errorf("AddRoom(%q, %q, pin, %q): got %v, want %q (%v)", tt.slug, tt.name, tt.lang, err, tt.msg, tt.want)
		}
	}
	if err := s.RemoveRoom(ctx, "nope"); !errors.Is(err, ErrNotFound) || err.Error() != `room "nope" not found` {
		t.Errorf("RemoveRoom(nope): got %v, want room \"nope\" not found", err)
	}
}

func TestNumbers(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	for _, slug := range []string{"a", "b"} {
		if _, err := s.AddRoom(ctx, slug, "", "", ""); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.AddNumber(ctx, "0049 30 123456", "a")
	if err != nil || n != (Number{E164: "+4930123456", RoomSlug: "a"}) {
		t.Fatalf("AddNumber: got %+v, %v", n, err)
	}
	if _, err := s.AddNumber(ctx, "+44 20 7946 0000", "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddNumber(ctx, "+4930123456", "b"); !errors.Is(err, ErrExists) {
		t.Errorf("AddNumber duplicate: got %v, want ErrExists", err)
	}
	if _, err := s.AddNumber(ctx, "+4930999999", "zzz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("AddNumber to missing room: got %v, want ErrNotFound", err)
	}
	if _, err := s.AddNumber(ctx, "030123456", "a"); !errors.Is(err, ErrInvalid) {
		t.Errorf("AddNumber national: got %v, want ErrInvalid", err)
	}
	nums, err := s.Numbers(ctx)
	want := []Number{{E164: "+442079460000", RoomSlug: "b"}, {E164: "+4930123456", RoomSlug: "a"}}
	if err != nil || len(nums) != 2 || nums[0] != want[0] || nums[1] != want[1] {
		t.Errorf("Numbers: got %+v, %v; want %+v", nums, err, want)
	}
	for _, dialled := range []string{"+4930123456", "4930123456", "004930123456", "sip:4930123456@10.0.0.1;user=phone"} {
		r, err := s.RoomForNumber(ctx, dialled)
		if err != nil || r.Slug != "a" {
			t.Errorf("RoomForNumber(%q): got %q, %v; want a", dialled, r.Slug, err)
		}
	}
	if _, err := s.RoomForNumber(ctx, "+4930000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RoomForNumber unknown: got %v, want ErrNotFound", err)
	}
	if _, err := s.RoomForNumber(ctx, "anonymous"); !errors.Is(err, ErrInvalid) {
		t.Errorf("RoomForNumber(anonymous): got %v, want ErrInvalid", err)
	}
	if got, err := s.NumbersForRoom(ctx, "b"); err != nil || len(got) != 1 || got[0].E164 != "+442079460000" {
		t.Errorf("NumbersForRoom(b): got %+v, %v", got, err)
	}
	if err := s.RemoveNumber(ctx, "+44 20 7946 0000"); err != nil {
		t.Errorf("RemoveNumber: %v", err)
	}
	if err := s.RemoveNumber(ctx, "+442079460000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveNumber twice: got %v, want ErrNotFound", err)
	}
	if err := s.RemoveRoom(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if nums, err := s.Numbers(ctx); err != nil || len(nums) != 0 {
		t.Errorf("Numbers after removing the room: got %+v, %v; want none", nums, err)
	}
}

// TestTwoStoresSeeEachOther is the CLI and a running server on one file.
func TestTwoStoresSeeEachOther(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	server, cli := openTest(t, dir), openTest(t, dir)
	if _, err := server.Rooms(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.AddRoom(ctx, "late", "", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.AddNumber(ctx, "+4930555555", "late"); err != nil {
		t.Fatal(err)
	}
	if r, err := server.RoomForNumber(ctx, "+4930555555"); err != nil || r.Slug != "late" {
		t.Errorf("server sees CLI change: got %q, %v; want late", r.Slug, err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	stores := []*Store{openTest(t, dir), openTest(t, dir)}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slug := string(rune('a'+i%26)) + "-room"
			_, err := stores[i%2].AddRoom(ctx, slug, "", "", "")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("AddRoom: %v", err)
		}
	}
	rooms, err := stores[0].Rooms(ctx)
	if err != nil || len(rooms) != 20 {
		t.Errorf("got %d rooms, %v; want 20", len(rooms), err)
	}
}

func TestConcurrentOpenOfFreshDir(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(dir)
			if err == nil {
				_, err = s.Rooms(context.Background())
				s.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Open: %v", err)
		}
	}
}

func TestSetModeratorPIN(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, t.TempDir())
	if _, err := s.AddRoom(ctx, "open", "", "", "en"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddRoom(ctx, "locked", "", "1234", "en"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetModeratorPIN(ctx, "open", "987654"); !errors.Is(err, ErrInvalid) {
		t.Errorf("moderator PIN on a room without PIN: got %v, want ErrInvalid", err)
	}
	if err := s.SetModeratorPIN(ctx, "locked", "1234"); !errors.Is(err, ErrInvalid) {
		t.Errorf("moderator PIN equal to the PIN: got %v, want ErrInvalid", err)
	}
	if err := s.SetModeratorPIN(ctx, "nope", "987654"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown room: got %v, want ErrNotFound", err)
	}
	if err := s.SetModeratorPIN(ctx, "locked", "987654"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddNumber(ctx, "+4930111222", "locked"); err != nil {
		t.Fatal(err)
	}
	r, err := s.RoomForNumber(ctx, "+4930111222")
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPIN(r.ModPINHash, "987654") || CheckPIN(r.ModPINHash, "1234") {
		t.Errorf("stored moderator PIN hash does not match 987654 only")
	}
	if err := s.SetModeratorPIN(ctx, "locked", ""); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.RoomBySlug(ctx, "locked"); r.ModPINHash != "" {
		t.Errorf("moderator PIN not removed")
	}
}
