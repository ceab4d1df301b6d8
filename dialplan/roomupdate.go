package dialplan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// RoomChange lists what UpdateRoom changes; nil fields stay. A PIN of "" removes it.
// DialCode, when set, is the room's new dial-in code (MinDialCodeLen to
// MaxDialCodeLen digits, unique among rooms).
type RoomChange struct{ Name, Lang, PIN, ModeratorPIN, DialCode *string }

// MinDialCodeLen and MaxDialCodeLen bound a dial-in code set by hand.
const (
	MinDialCodeLen = 4
	MaxDialCodeLen = 8
)

// UpdateRoom changes the room's title, prompt language, PIN, moderator
// PIN or dial-in code in one transaction and returns the room as it is afterwards. Values
// are validated like AddRoom's; a Name of "" means the slug. Removing the
// PIN also removes the moderator PIN (it only counts with a PIN). The
// moderator PIN needs a PIN and must differ from it. Errors wrap
// ErrNotFound, ErrInvalid or ErrExists (a dial-in code another room has).
func (s *Store) UpdateRoom(ctx context.Context, slug string, c RoomChange) (Room, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Room{}, fmt.Errorf("dialplan: update room: %w", err)
	}
	defer tx.Rollback()
	r, err := scanRoom(tx.QueryRowContext(ctx, `SELECT `+roomColumns+` FROM rooms WHERE slug = ?`, slug))
	if errors.Is(err, sql.ErrNoRows) {
		return Room{}, notFoundf("room %q not found", slug)
	}
	if err != nil {
		return Room{}, fmt.Errorf("dialplan: update room: %w", err)
	}
	if err := applyRoomChange(&r, c); err != nil {
		return Room{}, err
	}
	if c.DialCode != nil && *c.DialCode != r.DialCode {
		if err := dialCodeFree(ctx, tx, *c.DialCode); err != nil {
			return Room{}, err
		}
		r.DialCode = *c.DialCode
	}
	if _, err := tx.ExecContext(ctx, `UPDATE rooms SET name = ?, lang = ?, pin_hash = ?, mod_pin_hash = ?, dial_code = ? WHERE id = ?`,
		r.Name, r.Lang, r.PINHash, r.ModPINHash, r.DialCode, r.ID); err != nil {
		return Room{}, fmt.Errorf("dialplan: update room %q: %w", slug, err)
	}
	if err := tx.Commit(); err != nil {
		return Room{}, fmt.Errorf("dialplan: update room: %w", err)
	}
	return r, nil
}

// applyRoomChange validates c and applies it to r, hashing new PINs.
func applyRoomChange(r *Room, c RoomChange) error {
	if c.Name != nil {
		name := *c.Name
		if name == "" {
			name = r.Slug
		}
		if err := validateName(name); err != nil {
			return err
		}
		r.Name = name
	}
	if c.Lang != nil {
		lang := *c.Lang
		if lang == "" {
			lang = "de"
		}
		if err := ValidateLang(lang); err != nil {
			return err
		}
		r.Lang = lang
	}
	if c.DialCode != nil {
		if err := ValidateDialCode(*c.DialCode); err != nil {
			return err
		}
	}
	var pin, modPIN string // the new plain PINs, when known
	if c.PIN != nil {
		pin = *c.PIN
		if err := setPINHash(&r.PINHash, pin); err != nil {
			return err
		}
		if pin == "" {
			r.ModPINHash = ""
		}
	}
	if c.ModeratorPIN != nil {
		modPIN = *c.ModeratorPIN
		if modPIN != "" && !r.HasPIN() {
			return invalidf("room %q has no PIN: a moderator PIN needs one", r.Slug)
		}
		if err := setPINHash(&r.ModPINHash, modPIN); err != nil {
			return err
		}
	}
	return checkPINsDiffer(*r, pin, modPIN)
}

// setPINHash validates pin and stores its hash in *hash; "" clears it.
func setPINHash(hash *string, pin string) error {
	if pin == "" {
		*hash = ""
		return nil
	}
	if err := ValidatePIN(pin); err != nil {
		return err
	}
	h, err := HashPIN(pin)
	if err != nil {
		return fmt.Errorf("dialplan: update room: %w", err)
	}
	*hash = h
	return nil
}

// checkPINsDiffer fails when the room's PIN and moderator PIN are the same
// digits. pin and modPIN are the new plain values, "" when unchanged.
func checkPINsDiffer(r Room, pin, modPIN string) error {
	if r.PINHash == "" || r.ModPINHash == "" {
		return nil
	}
	same := false
	switch {
	case pin != "" && modPIN != "":
		same = pin == modPIN
	case pin != "":
		same = CheckPIN(r.ModPINHash, pin)
	case modPIN != "":
		same = CheckPIN(r.PINHash, modPIN)
	}
	if same {
		return invalidf("the moderator PIN must differ from the room's PIN")
	}
	return nil
}

// ValidateDialCode checks a dial-in code set by hand: MinDialCodeLen to
// MaxDialCodeLen digits.
func ValidateDialCode(code string) error {
	if len(code) < MinDialCodeLen || len(code) > MaxDialCodeLen {
		return invalidf("dial-in code must be %d to %d digits", MinDialCodeLen, MaxDialCodeLen)
	}
	for _, c := range []byte(code) {
		if c < '0' || c > '9' {
			return invalidf("dial-in code must be %d to %d digits", MinDialCodeLen, MaxDialCodeLen)
		}
	}
	return nil
}

// dialCodeFree fails with ErrExists when a room already has code. The
// message names that room but not the code.
func dialCodeFree(ctx context.Context, q execQuerier, code string) error {
	var owner string
	err := q.QueryRowContext(ctx, `SELECT slug FROM rooms WHERE dial_code = ?`, code).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dialplan: dial code: %w", err)
	}
	return existsf("this dial-in code is already used by room %q", owner)
}
