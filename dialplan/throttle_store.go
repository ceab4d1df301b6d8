package dialplan

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// throttleSaltName names the HMAC key of pin_failures.key_hash in secrets.
const throttleSaltName = "pin_failure_salt"

// storeTimeout bounds one write of a throttle entry, so that a locked
// database cannot hold up a call for long.
const storeTimeout = 5 * time.Second

// failureRecord is one row of pin_failures.
type failureRecord struct {
	keyHash string
	entry   throttleEntry
}

// Persist makes t keep its counts in st under kind ("caller", "trunk"),
// so that a restart does not reset a PIN guesser's count: it loads the
// entries that have not expired yet, and from then on writes every failure
// and every success through to the database. Keys are stored as an HMAC
// under a random per-database salt, never as the caller's number. Call it
// once, before t is used. Write errors go to log (without the key).
func (t *Throttle) Persist(ctx context.Context, st *Store, kind string, log *slog.Logger) error {
	salt, err := st.throttleSalt(ctx)
	if err != nil {
		return err
	}
	now := t.now()
	recs, err := st.loadFailures(ctx, kind, now, t.policy.Forget)
	if err != nil {
		return err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.store, t.kind, t.salt, t.log = st, kind, salt, log
	for _, r := range recs {
		e := r.entry
		t.entries[r.keyHash] = &e
	}
	return nil
}

// hashKey is the key under which t keeps key: an HMAC once persisted.
// t.salt is set once, before use.
func (t *Throttle) hashKey(key string) string {
	if t.salt == nil {
		return key
	}
	m := hmac.New(sha256.New, t.salt)
	m.Write([]byte(key))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// save writes one entry through (after t.mu is released).
func (t *Throttle) save(hkey string, e throttleEntry) {
	if t.store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := t.store.saveFailure(ctx, t.kind, failureRecord{hkey, e}); err != nil {
		t.log.Warn("saving a pin failure count", "kind", t.kind, "err", err)
	}
}

// forget deletes one entry from the database (after t.mu is released).
func (t *Throttle) forget(hkey string) {
	if t.store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if _, err := t.store.db.ExecContext(ctx, `DELETE FROM pin_failures WHERE kind = ? AND key_hash = ?`, t.kind, hkey); err != nil {
		t.log.Warn("deleting a pin failure count", "kind", t.kind, "err", err)
	}
}

// throttleSalt returns the database's HMAC key for failure keys, creating
// it on first use.
func (s *Store) throttleSalt(ctx context.Context) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("dialplan: salt: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)`, throttleSaltName, fresh); err != nil {
		return nil, fmt.Errorf("dialplan: salt: %w", err)
	}
	var salt []byte
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, throttleSaltName).Scan(&salt); err != nil {
		return nil, fmt.Errorf("dialplan: salt: %w", err)
	}
	if len(salt) < 16 {
		return nil, errors.New("dialplan: salt: stored salt is too short")
	}
	return salt, nil
}

// loadFailures deletes kind's entries forgotten by now (last failure more
// than forget ago, no lockout running) and returns the rest, most recent
// first, at most maxThrottleKeys.
func (s *Store) loadFailures(ctx context.Context, kind string, now time.Time, forget time.Duration) ([]failureRecord, error) {
	nowMS := now.UnixMilli()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM pin_failures WHERE kind = ? AND last_fail < ? AND locked_until <= ?`,
		kind, now.Add(-forget).UnixMilli(), nowMS); err != nil {
		return nil, fmt.Errorf("dialplan: load pin failures: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT key_hash, fails, last_fail, locks, locked_until FROM pin_failures
		WHERE kind = ? ORDER BY last_fail DESC LIMIT ?`, kind, maxThrottleKeys)
	if err != nil {
		return nil, fmt.Errorf("dialplan: load pin failures: %w", err)
	}
	defer rows.Close()
	var out []failureRecord
	for rows.Next() {
		var r failureRecord
		var last, until int64
		if err := rows.Scan(&r.keyHash, &r.entry.fails, &last, &r.entry.locks, &until); err != nil {
			return nil, fmt.Errorf("dialplan: load pin failures: %w", err)
		}
		r.entry.lastFail = time.UnixMilli(last)
		if until > 0 {
			r.entry.until = time.UnixMilli(until)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dialplan: load pin failures: %w", err)
	}
	return out, nil
}

func (s *Store) saveFailure(ctx context.Context, kind string, r failureRecord) error {
	var until int64
	if !r.entry.until.IsZero() {
		until = r.entry.until.UnixMilli()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO pin_failures (kind, key_hash, fails, last_fail, locks, locked_until)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, key_hash) DO UPDATE SET fails = excluded.fails, last_fail = excluded.last_fail,
			locks = excluded.locks, locked_until = excluded.locked_until`,
		kind, r.keyHash, r.entry.fails, r.entry.lastFail.UnixMilli(), r.entry.locks, until)
	if err != nil {
		return fmt.Errorf("dialplan: save pin failure: %w", err)
	}
	return nil
}

// PruneFailures deletes the PIN failure records whose last failure is
// older than before and whose lockout (if any) is over; it returns how
// many went. The retention job calls it.
func (s *Store) PruneFailures(ctx context.Context, before, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM pin_failures WHERE last_fail < ? AND locked_until <= ?`,
		before.UnixMilli(), now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("dialplan: prune pin failures: %w", err)
	}
	return res.RowsAffected()
}

// failureCount returns how many pin_failures rows exist (for tests and
// the retention log).
func (s *Store) failureCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pin_failures`).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}
