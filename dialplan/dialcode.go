package dialplan

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
)

// DialCodeLen is the number of digits of a room's dial-in code.
const DialCodeLen = 6

// dialCodeTries bounds the attempts to find an unused random code.
const dialCodeTries = 50

// execQuerier is a *sql.DB or *sql.Tx.
type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// newDialCode returns a random code of DialCodeLen digits not starting with 0.
func newDialCode() string {
	lo := int64(1)
	for range DialCodeLen - 1 {
		lo *= 10
	}
	n, err := rand.Int(rand.Reader, big.NewInt(9*lo))
	if err != nil {
		panic(err) // crypto/rand never fails (Go 1.24+)
	}
	return fmt.Sprint(lo + n.Int64())
}

// unusedDialCode draws random codes until one is not taken.
func unusedDialCode(ctx context.Context, q execQuerier) (string, error) {
	for range dialCodeTries {
		code := newDialCode()
		var id int64
		err := q.QueryRowContext(ctx, `SELECT id FROM rooms WHERE dial_code = ?`, code).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return code, nil
		}
		if err != nil {
			return "", fmt.Errorf("dial code: %w", err)
		}
	}
	return "", fmt.Errorf("dial code: no unused code after %d tries", dialCodeTries)
}

// assignDialCodes gives every room without a dial-in code a new one (rooms
// created before schema version 3).
func assignDialCodes(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM rooms WHERE dial_code IS NULL OR dial_code = ''`)
	if err != nil {
		return fmt.Errorf("assign dial codes: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("assign dial codes: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("assign dial codes: %w", err)
	}
	for _, id := range ids {
		code, err := unusedDialCode(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE rooms SET dial_code = ? WHERE id = ?`, code, id); err != nil {
			return fmt.Errorf("assign dial codes: %w", err)
		}
	}
	return nil
}

// RoomByDialCode returns the room with this dial-in code. The error wraps
// ErrNotFound when no room has it and never contains the code.
func (s *Store) RoomByDialCode(ctx context.Context, code string) (Room, error) {
	if code == "" {
		return Room{}, notFoundf("no room has this dial-in code")
	}
	r, err := scanRoom(s.db.QueryRowContext(ctx, `SELECT `+roomColumns+` FROM rooms WHERE dial_code = ?`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return Room{}, notFoundf("no room has this dial-in code")
	}
	if err != nil {
		return Room{}, fmt.Errorf("dialplan: room by dial code: %w", err)
	}
	return r, nil
}

// Route is where a dialled number leads: Number.Shared numbers ask for a
// dial-in code (prompts in Number.Lang); the others lead to Room.
type Route struct {
	Number Number
	Room   Room // zero for a shared number
}

// RouteNumber returns the route of a dialled number (a Request-URI user
// part or any form NormalizeNumber accepts). Errors wrap ErrInvalid or
// ErrNotFound like RoomForNumber's.
func (s *Store) RouteNumber(ctx context.Context, dialled string) (Route, error) {
	e164, err := NormalizeNumber(dialled)
	if err != nil {
		return Route{}, err
	}
	var roomID sql.NullInt64
	var lang string
	err = s.db.QueryRowContext(ctx, `SELECT room_id, lang FROM numbers WHERE e164 = ?`, e164).Scan(&roomID, &lang)
	if errors.Is(err, sql.ErrNoRows) {
		return Route{}, notFoundf("number %s not found", MaskNumber(e164))
	}
	if err != nil {
		return Route{}, fmt.Errorf("dialplan: route number: %w", err)
	}
	if !roomID.Valid {
		return Route{Number: Number{E164: e164, Shared: true, Lang: lang}}, nil
	}
	r, err := s.RoomForNumber(ctx, e164)
	if err != nil {
		return Route{}, err
	}
	return Route{Number: Number{E164: e164, RoomSlug: r.Slug}, Room: r}, nil
}
