package dialplan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// AddNumber assigns a phone number to a room. The number may be written in
// any form NormalizeNumber accepts; it is stored in E.164.
func (s *Store) AddNumber(ctx context.Context, number, slug string) (Number, error) {
	e164, err := NormalizeNumber(number)
	if err != nil {
		return Number{}, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Number{}, fmt.Errorf("dialplan: add number: %w", err)
	}
	defer tx.Rollback()
	var roomID int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM rooms WHERE slug = ?`, slug).Scan(&roomID)
	if errors.Is(err, sql.ErrNoRows) {
		return Number{}, notFoundf("room %q not found", slug)
	}
	if err != nil {
		return Number{}, fmt.Errorf("dialplan: add number: %w", err)
	}
	if err := numberFree(ctx, tx, e164); err != nil {
		return Number{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO numbers (e164, room_id) VALUES (?, ?)`, e164, roomID); err != nil {
		return Number{}, fmt.Errorf("dialplan: add number: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Number{}, fmt.Errorf("dialplan: add number: %w", err)
	}
	return Number{E164: e164, RoomSlug: slug}, nil
}

// Numbers returns all numbers ordered by number.
func (s *Store) Numbers(ctx context.Context) ([]Number, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT n.e164, COALESCE(r.slug, ''), n.lang, n.room_id IS NULL
		FROM numbers n LEFT JOIN rooms r ON r.id = n.room_id ORDER BY n.e164`)
	if err != nil {
		return nil, fmt.Errorf("dialplan: list numbers: %w", err)
	}
	defer rows.Close()
	var nums []Number
	for rows.Next() {
		var n Number
		if err := rows.Scan(&n.E164, &n.RoomSlug, &n.Lang, &n.Shared); err != nil {
			return nil, fmt.Errorf("dialplan: list numbers: %w", err)
		}
		nums = append(nums, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dialplan: list numbers: %w", err)
	}
	return nums, nil
}

// RemoveNumber deletes a number, given in any form NormalizeNumber accepts.
func (s *Store) RemoveNumber(ctx context.Context, number string) error {
	e164, err := NormalizeNumber(number)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM numbers WHERE e164 = ?`, e164)
	if err != nil {
		return fmt.Errorf("dialplan: remove number: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("dialplan: remove number: %w", err)
	} else if n == 0 {
		return notFoundf("number %s not found", MaskNumber(e164))
	}
	return nil
}

// RoomForNumber returns the room a dialled number leads to. dialled may be
// a Request-URI user part or any form NormalizeNumber accepts. The error
// wraps ErrInvalid when dialled is not a phone number and ErrNotFound when
// no room has it; neither message contains the full number.
func (s *Store) RoomForNumber(ctx context.Context, dialled string) (Room, error) {
	e164, err := NormalizeNumber(dialled)
	if err != nil {
		return Room{}, err
	}
	r, err := scanRoom(s.db.QueryRowContext(ctx, `SELECT r.id, r.slug, r.name, r.lang, r.pin_hash, r.created_at, r.mod_pin_hash,
		COALESCE(r.dial_code, '') FROM numbers n JOIN rooms r ON r.id = n.room_id WHERE n.e164 = ?`, e164))
	if errors.Is(err, sql.ErrNoRows) {
		return Room{}, notFoundf("number %s not found", MaskNumber(e164))
	}
	if err != nil {
		return Room{}, fmt.Errorf("dialplan: room for number: %w", err)
	}
	return r, nil
}

// NumbersForRoom returns the numbers assigned to one room, ordered.
func (s *Store) NumbersForRoom(ctx context.Context, slug string) ([]Number, error) {
	all, err := s.Numbers(ctx)
	if err != nil {
		return nil, err
	}
	var out []Number
	for _, n := range all {
		if n.RoomSlug == slug {
			out = append(out, n)
		}
	}
	return out, nil
}

// AddSharedNumber adds a number that belongs to no room: its callers are
// asked for a room's dial-in code, in language lang ("" means "de").
func (s *Store) AddSharedNumber(ctx context.Context, number, lang string) (Number, error) {
	e164, err := NormalizeNumber(number)
	if err != nil {
		return Number{}, err
	}
	if lang == "" {
		lang = "de"
	}
	if err := ValidateLang(lang); err != nil {
		return Number{}, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Number{}, fmt.Errorf("dialplan: add number: %w", err)
	}
	defer tx.Rollback()
	if err := numberFree(ctx, tx, e164); err != nil {
		return Number{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO numbers (e164, room_id, lang) VALUES (?, NULL, ?)`, e164, lang); err != nil {
		return Number{}, fmt.Errorf("dialplan: add number: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Number{}, fmt.Errorf("dialplan: add number: %w", err)
	}
	return Number{E164: e164, Shared: true, Lang: lang}, nil
}

// numberFree fails with ErrExists when e164 is already in use.
func numberFree(ctx context.Context, tx *sql.Tx, e164 string) error {
	var owner sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT r.slug FROM numbers n LEFT JOIN rooms r ON r.id = n.room_id WHERE n.e164 = ?`, e164).Scan(&owner)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("dialplan: add number: %w", err)
	case !owner.Valid:
		return existsf("number %s is already a shared number", MaskNumber(e164))
	}
	return existsf("number %s already belongs to room %q", MaskNumber(e164), owner.String)
}
