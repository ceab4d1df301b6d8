package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"time"

	"dialroom/dialplan"
	"dialroom/sfu"
)

// Join links. A join link is /r/{slug}?mod=TOKEN (the parameter keeps the
// name of the first moderator links; it carries participant links too).
// The token is base64url of
//
//	version (1) | role ('m' or 'p') | expiry (int64 Unix seconds, 0: never) | MAC (16)
//
// where MAC is the first 16 bytes of HMAC-SHA256 under the server's link
// secret (moderator.key) over a domain label, the room's slug, creation
// time and link key (dialplan.LinkPolicy), and the first ten bytes. A relink
// replaces the room's link key and so revokes every link made before; the
// creation time keeps a removed room's links out of a new room of the same
// name.
//
// The older, unversioned moderator links (ModeratorToken: 16 bytes, no
// expiry) still count as moderator links until the room's first relink.

// secretSize is the length of the link secret in bytes.
const secretSize = 32

// Join link roles and layout.
const (
	linkVersion         = 1
	linkRoleModerator   = 'm'
	linkRoleParticipant = 'p'
	linkHeaderSize      = 10 // version, role, expiry
	linkMACSize         = 16
	linkTokenSize       = linkHeaderSize + linkMACSize
	legacyTokenSize     = 16
	linkDomain          = "dialroom join link v1\x00"
)

// Why a join link was refused.
var (
	// ErrLinkExpired: the link was genuine but is past its expiry.
	ErrLinkExpired = errors.New("join link expired")
	// ErrLinkInvalid: the link was revoked by a relink, belongs to another
	// room, or was mistyped or forged.
	ErrLinkInvalid = errors.New("join link not valid")
)

// ModeratorToken returns the unversioned moderator token of the room slug:
// the first 16 bytes of HMAC-SHA256(secret, "moderator:"+slug), base64url.
// It never expires and counts only until the room's first relink; new
// links come from JoinLinkToken.
func ModeratorToken(secret []byte, slug string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("moderator:" + slug))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}

// validModeratorToken reports in constant time whether token is the
// unversioned moderator token of slug. Without a secret no token is valid.
func validModeratorToken(secret []byte, slug, token string) bool {
	if len(secret) == 0 || token == "" {
		return false
	}
	return hmac.Equal([]byte(ModeratorToken(secret, slug)), []byte(token))
}

// linkMAC signs a join link's header for the room p.
func linkMAC(secret []byte, p dialplan.LinkPolicy, header []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(linkDomain))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(p.Slug)))
	mac.Write(n[:])
	mac.Write([]byte(p.Slug))
	binary.BigEndian.PutUint64(n[:], uint64(p.CreatedAt.Unix()))
	mac.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(len(p.LinkKey)))
	mac.Write(n[:])
	mac.Write(p.LinkKey)
	mac.Write(header)
	return mac.Sum(nil)[:linkMACSize]
}

// JoinLinkToken signs a join link for the room p: role is
// sfu.RoleModerator or sfu.RoleParticipant; a zero expires never expires.
func JoinLinkToken(secret []byte, p dialplan.LinkPolicy, role string, expires time.Time) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("join link: no link secret")
	}
	b := make([]byte, linkHeaderSize, linkTokenSize)
	b[0] = linkVersion
	switch role {
	case sfu.RoleModerator:
		b[1] = linkRoleModerator
	case sfu.RoleParticipant:
		b[1] = linkRoleParticipant
	default:
		return "", fmt.Errorf("join link: role %q: want %s or %s", role, sfu.RoleModerator, sfu.RoleParticipant)
	}
	if !expires.IsZero() {
		binary.BigEndian.PutUint64(b[2:10], uint64(expires.Unix()))
	}
	b = append(b, linkMAC(secret, p, b)...)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// JoinLinkPath is the path of a join link with token for the room slug.
func JoinLinkPath(slug, token string) string {
	return "/r/" + slug + "?" + url.Values{"mod": {token}}.Encode()
}

// CheckJoinLink returns the role a join link token grants in the room p
// at now, or an error wrapping ErrLinkExpired or ErrLinkInvalid.
func CheckJoinLink(secret []byte, p dialplan.LinkPolicy, token string, now time.Time) (string, error) {
	if len(secret) == 0 || len(token) > 64 {
		return "", ErrLinkInvalid
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", ErrLinkInvalid
	}
	if len(b) == legacyTokenSize {
		if len(p.LinkKey) == 0 && validModeratorToken(secret, p.Slug, token) {
			return sfu.RoleModerator, nil
		}
		return "", ErrLinkInvalid
	}
	if len(b) != linkTokenSize || b[0] != linkVersion || !hmac.Equal(linkMAC(secret, p, b[:linkHeaderSize]), b[linkHeaderSize:]) {
		return "", ErrLinkInvalid
	}
	if exp := int64(binary.BigEndian.Uint64(b[2:10])); exp != 0 && now.Unix() >= exp {
		return "", ErrLinkExpired
	}
	switch b[1] {
	case linkRoleModerator:
		return sfu.RoleModerator, nil
	case linkRoleParticipant:
		return sfu.RoleParticipant, nil
	}
	return "", ErrLinkInvalid
}

// LinkPolicies finds a room's access setting and link key. A RoomLookup
// that also implements it (dialplan.Store does) enables join links with
// expiry and revocation and the signed-in access setting; without it every
// room is open and only the unversioned moderator links count.
type LinkPolicies interface {
	RoomLinkPolicy(ctx context.Context, slug string) (dialplan.LinkPolicy, error)
}

// linkPolicy returns the link policy of the room slug.
func (s *server) linkPolicy(ctx context.Context, slug string) (dialplan.LinkPolicy, error) {
	lp, ok := s.rooms.(LinkPolicies)
	if !ok {
		return dialplan.LinkPolicy{Slug: slug, Access: dialplan.AccessOpen}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	return lp.RoomLinkPolicy(ctx, slug)
}

// Join refusals sent in errorMsg (see docs/api.md, "Join links").
const (
	codeSignInRequired = "sign_in_required" // join: the room admits only signed-in users and link holders
	codeLinkExpired    = "link_expired"     // join: the link's time is up
	codeLinkInvalid    = "link_invalid"     // join: the link was revoked or is incomplete
)

// joinRefusal is why a browser may not join, as sent to it.
type joinRefusal struct{ code, msg string }

// joinRole decides how a browser joins the room slug: with the token of
// its ?mod= link (may be "") and its session cookie's ID (may be "").
// Signed-in admins and moderators join as moderators whatever the link
// says; a link's role counts next; a room with signed-in access refuses
// everyone else. A link that does not check out is refused with the
// reason, so that its holder knows to ask for a new one, unless the
// browser is signed in and may join without it.
func (s *server) joinRole(ctx context.Context, slug, token, sessionID string) (string, *joinRefusal) {
	if s.sessionModerates(sessionID) {
		return sfu.RoleModerator, nil
	}
	p, err := s.linkPolicy(ctx, slug)
	if err != nil {
		s.log.Error("join: room link policy", "room", slug, "err", err)
		return "", &joinRefusal{codeInternal, "room lookup failed"}
	}
	if token != "" {
		role, err := CheckJoinLink(s.modSecret, p, token, time.Now())
		switch {
		case err != nil && s.signedIn(sessionID):
			return sfu.RoleParticipant, nil // entitled without the link
		case errors.Is(err, ErrLinkExpired):
			return "", &joinRefusal{codeLinkExpired, "this link has expired; ask the organiser for a new one"}
		case err != nil:
			return "", &joinRefusal{codeLinkInvalid, "this link is no longer valid; ask the organiser for a new one"}
		}
		return role, nil
	}
	if p.Access == dialplan.AccessSignedIn && !s.signedIn(sessionID) {
		return "", &joinRefusal{codeSignInRequired, "this room is for signed-in users: sign in at /login or use your invitation link"}
	}
	return sfu.RoleParticipant, nil
}

// signedIn reports whether id is a live session of any role.
func (s *server) signedIn(id string) bool {
	if id == "" {
		return false
	}
	_, ok := s.sessions.get(id, time.Now())
	return ok
}

// LoadOrCreateSecret reads the secret in the file at path, creating the file
// (mode 0600) with a fresh random secret if it does not exist.
func LoadOrCreateSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < secretSize {
			return nil, fmt.Errorf("secret %s: %d bytes, want at least %d", path, len(b), secretSize)
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("secret: %w", err)
	}
	b = make([]byte, secretSize)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateSecret(path) // another process won the race
	}
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("secret %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("secret %s: %w", path, err)
	}
	return b, nil
}
