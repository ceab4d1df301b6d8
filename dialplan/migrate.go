package dialplan

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; migrations[i] brings the schema to
// version i+1. Never edit a released entry: append a new one.
var migrations = []string{
	`CREATE TABLE rooms (
		id         INTEGER PRIMARY KEY,
		slug       TEXT NOT NULL UNIQUE,
		name       TEXT NOT NULL,
		lang       TEXT NOT NULL,
		pin_hash   TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL -- Unix seconds
	);
	CREATE TABLE numbers (
		e164    TEXT PRIMARY KEY,
		room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE
	);
	CREATE INDEX numbers_room ON numbers(room_id);`,
	// 2: a second PIN whose callers join as moderators.
	`ALTER TABLE rooms ADD COLUMN mod_pin_hash TEXT NOT NULL DEFAULT '';`,
	// 3: dial-in codes (assigned to existing rooms by assignDialCodes) and
	// shared numbers, which belong to no room: room_id becomes nullable.
	`ALTER TABLE rooms ADD COLUMN dial_code TEXT;
	CREATE UNIQUE INDEX rooms_dial_code ON rooms(dial_code);
	CREATE TABLE numbers_v3 (
		e164    TEXT PRIMARY KEY,
		room_id INTEGER REFERENCES rooms(id) ON DELETE CASCADE, -- NULL: shared
		lang    TEXT NOT NULL DEFAULT '' -- shared: prompt language before the code
	);
	INSERT INTO numbers_v3 (e164, room_id, lang) SELECT e164, room_id, '' FROM numbers;
	DROP TABLE numbers;
	ALTER TABLE numbers_v3 RENAME TO numbers;
	CREATE INDEX numbers_room ON numbers(room_id);`,
	// 4: failed PIN entries per caller ID and trunk, kept across restarts
	// (throttle_store.go). key_hash is an HMAC of the key under the salt in
	// secrets, so neither the number nor any digit is stored.
	`CREATE TABLE secrets (
		name  TEXT PRIMARY KEY,
		value BLOB NOT NULL
	);
	CREATE TABLE pin_failures (
		kind         TEXT NOT NULL, -- "caller" or "trunk"
		key_hash     TEXT NOT NULL,
		fails        INTEGER NOT NULL,
		last_fail    INTEGER NOT NULL, -- Unix milliseconds
		locks        INTEGER NOT NULL,
		locked_until INTEGER NOT NULL, -- Unix milliseconds; 0: not locked
		PRIMARY KEY (kind, key_hash)
	);`,
	// 5: the audit log of admin and moderator actions (audit.go): who,
	// what, on what, when. No call content, no PINs, numbers masked.
	`CREATE TABLE audit (
		id     INTEGER PRIMARY KEY,
		at     INTEGER NOT NULL, -- Unix milliseconds
		actor  TEXT NOT NULL,
		action TEXT NOT NULL,
		target TEXT NOT NULL DEFAULT '',
		detail TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX audit_at ON audit(at);`,
	// 6: named admin API tokens with scopes and expiry (tokens.go; only the
	// SHA-256 of a token is stored), and per room who may join (access) and
	// the key that signs its join links (links.go; NULL until the first
	// relink, which revokes every earlier link).
	`CREATE TABLE api_tokens (
		name       TEXT PRIMARY KEY,
		hash       TEXT NOT NULL UNIQUE, -- hex SHA-256 of the token
		scopes     TEXT NOT NULL,        -- space-separated
		created_at INTEGER NOT NULL,     -- Unix seconds
		expires_at INTEGER NOT NULL DEFAULT 0, -- Unix seconds; 0: never
		last_used  INTEGER NOT NULL DEFAULT 0  -- Unix seconds; 0: never
	);
	ALTER TABLE rooms ADD COLUMN access TEXT NOT NULL DEFAULT 'open';
	ALTER TABLE rooms ADD COLUMN link_key BLOB;
	ALTER TABLE rooms ADD COLUMN relinked_at INTEGER NOT NULL DEFAULT 0;`,
	// 7: SIP trunks added by the CLI or the admin API (trunks.go), next to
	// the read-only ones of the configuration file. Digest and registration
	// passwords are stored as given: the server must answer and verify
	// digest challenges with them. trunks_version counts every change, so
	// a running server notices one with a single cheap query.
	`CREATE TABLE trunks (
		name         TEXT PRIMARY KEY,
		sources      TEXT NOT NULL DEFAULT '', -- comma-separated IPs and CIDR prefixes
		username     TEXT NOT NULL DEFAULT '', -- digest (407) on INVITEs; '' = none
		password     TEXT NOT NULL DEFAULT '',
		max_calls    INTEGER NOT NULL DEFAULT 0,
		max_duration INTEGER NOT NULL DEFAULT 0, -- seconds; 0 = no limit
		srtp         TEXT NOT NULL DEFAULT '',
		reg_registrar TEXT NOT NULL DEFAULT '', -- '' = no registration
		reg_transport TEXT NOT NULL DEFAULT '',
		reg_username  TEXT NOT NULL DEFAULT '',
		reg_password  TEXT NOT NULL DEFAULT '',
		reg_domain    TEXT NOT NULL DEFAULT '',
		reg_expires   INTEGER NOT NULL DEFAULT 0, -- seconds; 0 = default
		updated_at   INTEGER NOT NULL -- Unix milliseconds
	);
	CREATE TABLE trunks_version (n INTEGER NOT NULL);
	INSERT INTO trunks_version (n) VALUES (0);`,
	// 8: local user accounts (users.go), signed in like directory users.
	`CREATE TABLE users (
		name         TEXT PRIMARY KEY,
		display_name TEXT NOT NULL DEFAULT '',
		role         TEXT NOT NULL,
		pass_hash    TEXT NOT NULL, -- argon2id, HashPassword
		created_at   INTEGER NOT NULL -- Unix seconds
	);`,
}

// migrate applies the pending migrations in one immediate transaction, so
// that two processes opening a fresh database at once do not both apply them.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	v, err := schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("migrate: database schema version %d is newer than this program (%d)", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate to version %d: %w", i+1, err)
		}
	}
	if err := assignDialCodes(ctx, tx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if v < len(migrations) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM schema_version`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, len(migrations)); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

func schemaVersion(ctx context.Context, tx *sql.Tx) (int, error) {
	var v sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("migrate: read schema version: %w", err)
	}
	return int(v.Int64), nil
}
