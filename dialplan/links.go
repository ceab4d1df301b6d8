package dialplan

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Who may join a room from the browser (Access values).
const (
	// AccessOpen lets in anyone who has the room's address.
	AccessOpen = "open"
	// AccessSignedIn lets in users signed in through the directory login
	// and holders of a valid participant or moderator link.
	AccessSignedIn = "signed-in"
	// AccessLobby lets in signed-in users and link holders at once; other
	// guests wait in the lobby until a moderator in the room admits them.
	AccessLobby = "lobby"
)

// ValidateAccess checks an access value.
func ValidateAccess(access string) error {
	switch access {
	case AccessOpen, AccessSignedIn, AccessLobby:
		return nil
	}
	return invalidf("access %q: want %q, %q or %q", clip(access, 32), AccessOpen, AccessSignedIn, AccessLobby)
}

// LinkPolicy is what the web tier needs to admit a browser to a room: its
// access setting and the key its join links are signed with.
type LinkPolicy struct {
	Slug   string
	Access string // AccessOpen, AccessSignedIn or AccessLobby
	// LinkKey is mixed into every join link's signature; a relink replaces
	// it, revoking every earlier link. Empty until the first relink: then
	// the older unversioned moderator links still count.
	LinkKey    []byte
	RelinkedAt time.Time // zero: never relinked
	// CreatedAt is mixed into the signature too, so that links of a removed
	// room do not open a new room of the same name.
	CreatedAt time.Time
}

// linkKeySize is the length of a room's link key in bytes.
const linkKeySize = 16

// RoomLinkPolicy returns the link policy of the room slug, or an error
// wrapping ErrNotFound.
func (s *Store) RoomLinkPolicy(ctx context.Context, slug string) (LinkPolicy, error) {
	p := LinkPolicy{Slug: slug}
	var created, relinked int64
	err := s.db.QueryRowContext(ctx, `SELECT access, link_key, relinked_at, created_at FROM rooms WHERE slug = ?`, slug).
		Scan(&p.Access, &p.LinkKey, &relinked, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return LinkPolicy{}, notFoundf("room %q not found", slug)
	}
	if err != nil {
		return LinkPolicy{}, fmt.Errorf("dialplan: room %q links: %w", slug, err)
	}
	p.CreatedAt = time.Unix(created, 0)
	if relinked != 0 {
		p.RelinkedAt = time.Unix(relinked, 0)
	}
	return p, nil
}

// SetRoomAccess changes who may join the room slug from the browser.
func (s *Store) SetRoomAccess(ctx context.Context, slug, access string) error {
	if err := ValidateAccess(access); err != nil {
		return err
	}
	return s.updateRoomRow(ctx, slug, `UPDATE rooms SET access = ? WHERE slug = ?`, access, slug)
}

// Relink gives the room slug a fresh link key: every participant and
// moderator link made before, including the older unversioned moderator
// links, stops working at once. It returns the new policy.
func (s *Store) Relink(ctx context.Context, slug string, now time.Time) (LinkPolicy, error) {
	key := make([]byte, linkKeySize)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
	if err := s.updateRoomRow(ctx, slug, `UPDATE rooms SET link_key = ?, relinked_at = ? WHERE slug = ?`, key, now.Unix(), slug); err != nil {
		return LinkPolicy{}, err
	}
	return s.RoomLinkPolicy(ctx, slug)
}

// updateRoomRow runs an UPDATE of one room, reporting ErrNotFound when no
// room has the slug.
func (s *Store) updateRoomRow(ctx context.Context, slug, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("dialplan: room %q: %w", slug, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("dialplan: room %q: %w", slug, err)
	} else if n == 0 {
		return notFoundf("room %q not found", slug)
	}
	return nil
}
