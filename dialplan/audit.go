package dialplan

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// AuditEntry is one line of the audit log: who did what to which target,
// when. It records admin and moderator actions for accountability under
// the GDPR; it never holds call content or a PIN, and phone numbers in it
// are masked (MaskNumber).
type AuditEntry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`  // "cli", "admin", "admin:NAME", "moderator:NAME"
	Action string    `json:"action"` // e.g. "room.add", "number.remove", "participant.mute"
	Target string    `json:"target"` // a room slug, a masked number, "ROOM/PARTICIPANT"
	Detail string    `json:"detail"` // e.g. which fields changed; never their secret values
}

// maxAuditField bounds each text field of an entry, in bytes.
const maxAuditField = 256

// longDigits finds digit runs long enough to be a phone number (7 or more
// digits, spaces and dashes allowed inside, an optional +). A masked
// number ("+49 30 ••• 456") has no such run.
var longDigits = regexp.MustCompile(`\+?\d[\d \-]{5,}\d`)

// scrubAudit masks anything in s that looks like a phone number: the
// callers pass masked numbers already, this is the last line of defence.
func scrubAudit(s string) string {
	if len(s) > maxAuditField {
		s = s[:maxAuditField]
	}
	s = strings.ToValidUTF8(s, "")
	return longDigits.ReplaceAllStringFunc(s, func(m string) string {
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, m)
		if len(digits) < 7 {
			return m
		}
		return "•••" + digits[max(0, len(digits)-2):]
	})
}

// AddAudit appends e to the audit log; a zero At means now. Every field is
// scrubbed of unmasked phone numbers; Actor and Action must be set. Callers
// never pass a PIN.
func (s *Store) AddAudit(ctx context.Context, e AuditEntry) error {
	if e.Actor == "" || e.Action == "" {
		return fmt.Errorf("dialplan: audit: actor and action are required: %w", ErrInvalid)
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)`,
		e.At.UnixMilli(), scrubAudit(e.Actor), scrubAudit(e.Action), scrubAudit(e.Target), scrubAudit(e.Detail))
	if err != nil {
		return fmt.Errorf("dialplan: audit: %w", err)
	}
	return nil
}

// AuditLog returns the entries at or after since, oldest first, at most
// limit (the newest limit ones when there are more; limit <= 0 means 1000).
func (s *Store) AuditLog(ctx context.Context, since time.Time, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, actor, action, target, detail FROM
		(SELECT * FROM audit WHERE at >= ? ORDER BY at DESC, id DESC LIMIT ?) ORDER BY at, id`,
		since.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("dialplan: audit log: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, fmt.Errorf("dialplan: audit log: %w", err)
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dialplan: audit log: %w", err)
	}
	return out, nil
}

// PruneAudit deletes the entries older than before and returns how many
// went. The retention job calls it.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM audit WHERE at < ?`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("dialplan: prune audit: %w", err)
	}
	return res.RowsAffected()
}
