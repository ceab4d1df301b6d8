package dialplan

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// DBFile is the name of the database file inside the data directory.
const DBFile = "dialroom.db"

// busyTimeoutMS is how long a writer waits for another process (the CLI or
// a running server) to release the database lock, in milliseconds.
const busyTimeoutMS = 5000

// Store persists rooms and numbers in SQLite. Every method reads the
// database, so changes made by another process (the admin CLI) are seen at
// once. A Store is safe for concurrent use.
type Store struct {
	db        *sql.DB
	closeOnce sync.Once
	closeErr  error
}

// Open creates dataDir if needed, opens dataDir/dialroom.db in WAL mode and
// applies pending schema migrations.
func Open(dataDir string) (*Store, error) {
	if dataDir == "" {
		return nil, fmt.Errorf("dialplan: open: empty data directory")
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("dialplan: open: %w", err)
	}
	// Switching a fresh file to WAL needs an exclusive lock, and SQLite
	// answers SQLITE_BUSY there without waiting for the busy handler. Two
	// processes opening an empty data directory at once (the server and a
	// CLI command) would then fail, so the first connection and the
	// migrations run under an advisory file lock. Later opens of a database
	// already in WAL mode take the lock only for these few milliseconds.
	unlock, err := lockFile(filepath.Join(dataDir, DBFile+".lock"))
	if err != nil {
		return nil, fmt.Errorf("dialplan: open: %w", err)
	}
	defer unlock()
	db, err := sql.Open("sqlite", dsn(filepath.Join(dataDir, DBFile)))
	if err != nil {
		return nil, fmt.Errorf("dialplan: open: %w", err)
	}
	s := &Store{db: db}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("dialplan: open %s: %w", dataDir, err)
	}
	return s, nil
}

// lockFile takes an exclusive flock(2) on path, creating it if needed, and
// returns the function that releases it. The kernel releases the lock if
// the process dies, so a crashed CLI never blocks the server.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// dsn builds the modernc.org/sqlite connection string. The pragmas apply to
// every pooled connection. _txlock=immediate takes the write lock when a
// transaction begins, so two processes never deadlock upgrading a read lock.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Close closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.db.Close() })
	return s.closeErr
}
