package dialplan

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// TestMigrateFromEveryVersion builds a database at every earlier schema
// version (0 = empty file) the way an older program left it, with a room
// in it from version 1 on, then opens it with this program: it must reach
// the newest version, keep the room and accept new rooms and numbers.
func TestMigrateFromEveryVersion(t *testing.T) {
	for v := 0; v < len(migrations); v++ {
		t.Run(fmt.Sprintf("from_v%d", v), func(t *testing.T) {
			dir := t.TempDir()
			writeOldSchema(t, dir, v)
			s := openTest(t, dir)
			var got int
			if err := s.db.QueryRow(`SELECT MAX(version) FROM schema_version`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != len(migrations) {
				t.Errorf("schema version: got %d, want %d", got, len(migrations))
			}
			ctx := context.Background()
			if v >= 1 {
				r, err := s.RoomBySlug(ctx, "old")
				if err != nil || r.Name != "Old room" {
					t.Errorf("room from v%d: got %+v, %v; want it kept", v, r, err)
				}
			}
			if _, err := s.AddRoom(ctx, "new", "", "4321", "en"); err != nil {
				t.Fatalf("AddRoom after migration: %v", err)
			}
			if _, err := s.AddNumber(ctx, "+4930999", "new"); err != nil {
				t.Fatalf("AddNumber after migration: %v", err)
			}
		})
	}
}

// writeOldSchema creates dir/dialroom.db at schema version v, as the
// program of that version would have: migrations[:v] and its version row.
func writeOldSchema(t *testing.T, dir string, v int) {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(filepath.Join(dir, DBFile)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v == 0 {
		if _, err := db.Exec(`PRAGMA user_version = 0`); err != nil {
			t.Fatal(err)
		}
		return
	}
	stmts := append([]string{`CREATE TABLE schema_version (version INTEGER NOT NULL)`}, migrations[:v]...)
	stmts = append(stmts,
		fmt.Sprintf(`INSERT INTO schema_version (version) VALUES (%d)`, v),
		// Columns of schema version 1; later versions must keep them.
		`INSERT INTO rooms (slug, name, lang, pin_hash, created_at) VALUES ('old', 'Old room', 'de', '', 1700000000)`,
	)
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("v%d: %s: %v", v, q, err)
		}
	}
}
