package dialplan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"modernc.org/sqlite"
)

// ErrBadBackup is wrapped by Restore when the file is not a usable backup.
var ErrBadBackup = errors.New("not a usable dialroom backup")

// Backup writes a consistent copy of the database to file while the server
// may keep writing: SQLite's VACUUM INTO reads one snapshot inside a read
// transaction, so writers are not blocked and the copy never mixes two
// states. The copy is written next to file and renamed into place, so file
// is either the old content or a complete backup. An existing file is
// replaced.
func (s *Store) Backup(ctx context.Context, file string) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return fmt.Errorf("dialplan: backup: %w", err)
	}
	tmp := abs + ".partial"
	_ = os.Remove(tmp) // a leftover of an interrupted backup
	if _, err := s.db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("dialplan: backup to %s: %w", file, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("dialplan: backup: %w", err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("dialplan: backup: %w", err)
	}
	return nil
}

// Restore replaces the whole database with the backup in file, using
// SQLite's online backup API in the restore direction: the copy happens
// under the database's write lock, so other connections (a running server,
// another CLI) see either the old or the restored content, never a mix. A
// backup from an older program version is migrated afterwards. file is
// checked first (integrity, schema version); a bad file changes nothing and
// the error wraps ErrBadBackup.
func (s *Store) Restore(ctx context.Context, file string) error {
	if err := checkBackup(ctx, file); err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("dialplan: restore: %w", err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		r, ok := dc.(interface {
			NewRestore(srcURI string) (*sqlite.Backup, error)
		})
		if !ok {
			return fmt.Errorf("driver %T has no online backup", dc)
		}
		b, err := r.NewRestore(readOnlyURI(file))
		if err != nil {
			return err
		}
		_, stepErr := b.Step(-1)
		return errors.Join(stepErr, b.Finish())
	})
	if err != nil {
		return fmt.Errorf("dialplan: restore from %s: %w", file, err)
	}
	if err := s.migrate(ctx); err != nil {
		return fmt.Errorf("dialplan: restore: %w", err)
	}
	return nil
}

// checkBackup opens file read-only and checks that it is an intact dialroom
// database whose schema this program understands.
func checkBackup(ctx context.Context, file string) error {
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("dialplan: restore: %w: %w", ErrBadBackup, err)
	}
	db, err := sql.Open("sqlite", readOnlyURI(file))
	if err != nil {
		return fmt.Errorf("dialplan: restore: %w", err)
	}
	defer db.Close()
	var ok string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil {
		return fmt.Errorf("dialplan: restore %s: %w: %w", file, ErrBadBackup, err)
	}
	if ok != "ok" {
		return fmt.Errorf("dialplan: restore %s: %w: integrity check: %s", file, ErrBadBackup, ok)
	}
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&v); err != nil {
		return fmt.Errorf("dialplan: restore %s: %w: no schema version", file, ErrBadBackup)
	}
	if int(v.Int64) > len(migrations) {
		return fmt.Errorf("dialplan: restore %s: %w: schema version %d is newer than this program (%d)",
			file, ErrBadBackup, v.Int64, len(migrations))
	}
	return nil
}

// readOnlyURI is the SQLite URI that opens path without writing to it.
func readOnlyURI(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return "file:" + (&url.URL{Path: abs}).EscapedPath() + "?mode=ro"
}

// CheckWritable reports whether the database accepts writes: it takes the
// write lock, updates a row and rolls back. Readiness probes call it.
func (s *Store) CheckWritable(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil) // _txlock=immediate: takes the write lock
	if err != nil {
		return fmt.Errorf("dialplan: database not writable: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = version`); err != nil {
		return fmt.Errorf("dialplan: database not writable: %w", err)
	}
	return nil
}
