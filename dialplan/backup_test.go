package dialplan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

func roomSlugs(t *testing.T, s *Store) []string {
	t.Helper()
	rooms, err := s.Rooms(context.Background())
	if err != nil {
		t.Fatalf("Rooms: %v", err)
	}
	var slugs []string
	for _, r := range rooms {
		slugs = append(slugs, r.Slug)
	}
	slices.Sort(slugs)
	return slugs
}

// TestBackupWhileWriting takes backups from a second Store (the CLI) while
// the first (the server) keeps adding rooms, and checks that every backup
// is intact and holds a prefix of the rooms: a consistent snapshot.
func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	server := openTest(t, dir)
	cli := openTest(t, dir)
	ctx := context.Background()
	const rooms = 60
	var wg sync.WaitGroup
	wg.Add(1)
	writeErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		for i := range rooms {
			if _, err := server.AddRoom(ctx, fmt.Sprintf("r%03d", i), "", "", ""); err != nil {
				writeErr <- err
				return
			}
		}
	}()
	var counts []int
	for i := 0; i < 8; i++ {
		file := filepath.Join(t.TempDir(), "b.db")
		if err := cli.Backup(ctx, file); err != nil {
			t.Fatalf("Backup %d: %v", i, err)
		}
		if err := checkBackup(ctx, file); err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		got := backupRooms(t, file)
		for j, slug := range got {
			if want := fmt.Sprintf("r%03d", j); slug != want {
				t.Fatalf("backup %d: room %d is %q, want %q (not a snapshot)", i, j, slug, want)
			}
		}
		counts = append(counts, len(got))
	}
	wg.Wait()
	select {
	case err := <-writeErr:
		t.Fatalf("writer: %v", err)
	default:
	}
	t.Logf("rooms seen by the backups taken while writing: %v", counts)
	file := filepath.Join(t.TempDir(), "final.db")
	if err := cli.Backup(ctx, file); err != nil {
		t.Fatal(err)
	}
	if got := len(backupRooms(t, file)); got != rooms {
		t.Errorf("final backup: got %d rooms, want %d", got, rooms)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode: got %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

// backupRooms reads the room slugs from a backup file, in id order.
func backupRooms(t *testing.T, file string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", readOnlyURI(file))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT slug FROM rooms ORDER BY id`)
	if err != nil {
		t.Fatalf("backup %s: %v", file, err)
	}
	defer rows.Close()
	var slugs []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		slugs = append(slugs, s)
	}
	return slugs
}

// TestRestoreWhileOpen restores a backup through one Store while another
// (a running server) has the database open; the server sees the restored
// rooms without reopening.
func TestRestoreWhileOpen(t *testing.T) {
	dir := t.TempDir()
	server := openTest(t, dir)
	cli := openTest(t, dir)
	ctx := context.Background()
	for _, slug := range []string{"alpha", "beta"} {
		if _, err := server.AddRoom(ctx, slug, "", "1234", ""); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "b.db")
	if err := cli.Backup(ctx, file); err != nil {
		t.Fatal(err)
	}
	if err := server.RemoveRoom(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	if _, err := server.AddRoom(ctx, "gamma", "", "", ""); err != nil {
		t.Fatal(err)
	}
	if err := cli.Restore(ctx, file); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	want := []string{"alpha", "beta"}
	if got := roomSlugs(t, server); !slices.Equal(got, want) {
		t.Errorf("server after restore: got %v, want %v", got, want)
	}
	r, err := server.RoomBySlug(ctx, "alpha")
	if err != nil || !CheckPIN(r.PINHash, "1234") {
		t.Errorf("restored room's PIN: got %v, want the PIN hash back", err)
	}
	if _, err := server.AddRoom(ctx, "delta", "", "", ""); err != nil {
		t.Errorf("write after restore: %v", err)
	}
}

func TestRestoreRejectsBadFiles(t *testing.T) {
	ctx := context.Background()
	newer := filepath.Join(t.TempDir(), "newer.db")
	{
		s := openTest(t, t.TempDir())
		if _, err := s.db.Exec(`UPDATE schema_version SET version = 999`); err != nil {
			t.Fatal(err)
		}
		if err := s.Backup(ctx, newer); err != nil {
			t.Fatal(err)
		}
	}
	garbage := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(garbage, []byte("this is not an SQLite database, not at all........................................................................................"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, file string }{
		{"missing", filepath.Join(t.TempDir(), "nope.db")},
		{"garbage", garbage},
		{"newer schema", newer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t, t.TempDir())
			if _, err := s.AddRoom(ctx, "keep", "", "", ""); err != nil {
				t.Fatal(err)
			}
			err := s.Restore(ctx, tt.file)
			if !errors.Is(err, ErrBadBackup) {
				t.Errorf("Restore: got %v, want ErrBadBackup", err)
			}
			if got := roomSlugs(t, s); !slices.Equal(got, []string{"keep"}) {
				t.Errorf("after failed restore: got rooms %v, want [keep]", got)
			}
		})
	}
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	ctx := context.Background()
	if err := s.CheckWritable(ctx); err != nil {
		t.Errorf("CheckWritable: got %v, want nil", err)
	}
	s.Close()
	if err := s.CheckWritable(ctx); err == nil {
		t.Errorf("CheckWritable on a closed store: got nil, want an error")
	}
}
