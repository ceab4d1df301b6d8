package dialplan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// RoomChange lists what UpdateRoom changes; nil fields stay. A PIN of "" removes it.
type RoomChange struct{ Name, Lang, PIN, ModeratorPIN *string }

// UpdateRoom changes the room's title, prompt language, PIN or moderator
// PIN in one transaction and returns the room as it is afterwards. Values
// are validated like AddRoom's; a Name of "" means the slug. Removing the
// PIN also removes the moderator PIN (it only counts with a PIN). The
// moderator PIN needs a PIN and must differ from it. Errors wrap
// ErrNotFound or ErrInvalid.
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
	if _, err := tx.ExecContext(ctx, `UPDATE rooms SET name = ?, lang = ?, pin_hash = ?, mod_pin_hash = ? WHERE id = ?`,
		r.Name, r.Lang, r.PINHash, r.ModPINHash, r.ID); err != nil {
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
