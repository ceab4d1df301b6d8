package dialplan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const roomColumns = `id, slug, name, lang, pin_hash, created_at, mod_pin_hash, COALESCE(dial_code, '')`

// AddRoom creates a room. pin "" means no PIN; lang "" means "de"; name ""
// means the slug. The PIN is stored only as a hash.
func (s *Store) AddRoom(ctx context.Context, slug, name, pin, lang string) (Room, error) {
	r, err := newRoom(slug, name, lang)
	if err != nil {
		return Room{}, err
	}
	if pin != "" {
		if err := ValidatePIN(pin); err != nil {
			return Room{}, err
		}
		if r.PINHash, err = HashPIN(pin); err != nil {
			return Room{}, fmt.Errorf("dialplan: add room: %w", err)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Room{}, fmt.Errorf("dialplan: add room: %w", err)
	}
	defer tx.Rollback()
	if _, err := scanRoom(tx.QueryRowContext(ctx, `SELECT `+roomColumns+` FROM rooms WHERE slug = ?`, slug)); err == nil {
		return Room{}, existsf("room %q already exists", slug)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return Room{}, fmt.Errorf("dialplan: add room: %w", err)
	}
	if r.DialCode, err = unusedDialCode(ctx, tx); err != nil {
		return Room{}, fmt.Errorf("dialplan: add room: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO rooms (slug, name, lang, pin_hash, created_at, dial_code) VALUES (?, ?, ?, ?, ?, ?)`,
		r.Slug, r.Name, r.Lang, r.PINHash, r.CreatedAt.Unix(), r.DialCode)
	if err != nil {
		return Room{}, fmt.Errorf("dialplan: add room: %w", err)
	}
	if r.ID, err = res.LastInsertId(); err != nil {
		return Room{}, fmt.Errorf("dialplan: add room: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Room{}, fmt.Errorf("dialplan: add room: %w", err)
	}
	return r, nil
}

// newRoom validates the fields and fills the defaults.
func newRoom(slug, name, lang string) (Room, error) {
	if err := ValidateSlug(slug); err != nil {
		return Room{}, err
	}
	if name == "" {
		name = slug
	}
	if err := validateName(name); err != nil {
		return Room{}, err
	}
	if lang == "" {
		lang = "de"
	}
	if err := ValidateLang(lang); err != nil {
		return Room{}, err
	}
	return Room{Slug: slug, Name: name, Lang: lang, CreatedAt: time.Now().UTC().Truncate(time.Second)}, nil
}

// Rooms returns all rooms ordered by slug.
func (s *Store) Rooms(ctx context.Context) ([]Room, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+roomColumns+` FROM rooms ORDER BY slug`)
	if err != nil {
		return nil, fmt.Errorf("dialplan: list rooms: %w", err)
	}
	defer rows.Close()
	var rooms []Room
	for rows.Next() {
		r, err := scanRoom(rows)
		if err != nil {
			return nil, fmt.Errorf("dialplan: list rooms: %w", err)
		}
		rooms = append(rooms, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dialplan: list rooms: %w", err)
	}
	return rooms, nil
}

// RoomBySlug returns the room with this slug or an error wrapping ErrNotFound.
func (s *Store) RoomBySlug(ctx context.Context, slug string) (Room, error) {
	r, err := scanRoom(s.db.QueryRowContext(ctx, `SELECT `+roomColumns+` FROM rooms WHERE slug = ?`, slug))
	if errors.Is(err, sql.ErrNoRows) {
		return Room{}, notFoundf("room %q not found", slug)
	}
	if err != nil {
		return Room{}, fmt.Errorf("dialplan: room %q: %w", slug, err)
	}
	return r, nil
}

// RemoveRoom deletes a room and the numbers assigned to it.
func (s *Store) RemoveRoom(ctx context.Context, slug string) error {
	// numbers go with the room through ON DELETE CASCADE.
	res, err := s.db.ExecContext(ctx, `DELETE FROM rooms WHERE slug = ?`, slug)
	if err != nil {
		return fmt.Errorf("dialplan: remove room %q: %w", slug, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("dialplan: remove room %q: %w", slug, err)
	} else if n == 0 {
		return notFoundf("room %q not found", slug)
	}
	return nil
}

// SetModeratorPIN sets (pin "" removes) the room's moderator PIN: callers
// who type it join as moderators. It only counts in a room that has a PIN,
// and it must differ from that PIN. Stored only as a hash.
func (s *Store) SetModeratorPIN(ctx context.Context, slug, pin string) error {
	r, err := s.RoomBySlug(ctx, slug)
	if err != nil {
		return err
	}
	hash := ""
	if pin != "" {
		if err := ValidatePIN(pin); err != nil {
			return err
		}
		if !r.HasPIN() {
			return invalidf("room %q has no PIN: a moderator PIN needs one", slug)
		}
		if CheckPIN(r.PINHash, pin) {
			return invalidf("the moderator PIN must differ from the room's PIN")
		}
		if hash, err = HashPIN(pin); err != nil {
			return fmt.Errorf("dialplan: moderator pin: %w", err)
		}
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE rooms SET mod_pin_hash = ? WHERE slug = ?`, hash, slug); err != nil {
		return fmt.Errorf("dialplan: moderator pin for %q: %w", slug, err)
	}
	return nil
}

// IsEmpty reports whether no room exists yet (first start).
func (s *Store) IsEmpty(ctx context.Context) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM rooms`).Scan(&n); err != nil {
		return false, fmt.Errorf("dialplan: count rooms: %w", err)
	}
	return n == 0, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanRoom(sc scanner) (Room, error) {
	var r Room
	var created int64
	if err := sc.Scan(&r.ID, &r.Slug, &r.Name, &r.Lang, &r.PINHash, &created, &r.ModPINHash, &r.DialCode); err != nil {
		return Room{}, err
	}
	r.CreatedAt = time.Unix(created, 0).UTC()
	return r, nil
}
