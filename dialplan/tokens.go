package dialplan

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scopes of admin API tokens. A token carries one or more; Grants decides
// whether they allow a request that needs a given scope. The vocabulary
// follows the resource:access shape of GitHub's and GitLab's token scopes.
const (
	ScopeAdmin      = "admin"       // everything, including managing tokens
	ScopeRead       = "read"        // every *:read scope
	ScopeRoomsRead  = "rooms:read"  // rooms, numbers, trunks, room access
	ScopeRoomsWrite = "rooms:write" // change them, make and revoke join links
	ScopeLiveRead   = "live:read"   // rooms in progress and their participants
	ScopeLiveWrite  = "live:write"  // moderate them: mute, remove, end
	ScopeAuditRead  = "audit:read"  // the audit log
)

// Scopes lists every valid scope, broadest first.
var Scopes = []string{ScopeAdmin, ScopeRead, ScopeRoomsRead, ScopeRoomsWrite,
	ScopeLiveRead, ScopeLiveWrite, ScopeAuditRead}

// Grants reports whether a token with scopes may do what needs scope need:
// admin grants everything; read grants every *:read; x:write grants x:read.
// Only admin grants admin.
func Grants(scopes []string, need string) bool {
	for _, s := range scopes {
		switch {
		case s == ScopeAdmin, s == need && need != "":
			return true
		case need == ScopeAdmin:
		case s == ScopeRead && strings.HasSuffix(need, ":read"):
			return true
		case strings.HasSuffix(s, ":write") && need == strings.TrimSuffix(s, ":write")+":read":
			return true
		}
	}
	return false
}

// ParseScopes splits a comma- or space-separated list of scopes, checks
// each and removes duplicates. An empty list is an error.
func ParseScopes(s string) ([]string, error) {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if !slices.Contains(Scopes, f) {
			return nil, invalidf("unknown scope %q (valid: %s)", clip(f, 32), strings.Join(Scopes, ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, invalidf("a token needs at least one scope (valid: %s)", strings.Join(Scopes, ", "))
	}
	return out, nil
}

// clip shortens outside input quoted in an error message.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// maxLifetime bounds an expiry given as a duration: ten years.
const maxLifetime = 10 * 365 * 24 * time.Hour

// ParseLifetime parses how long a token or link lives: "90d", "2w", "12h",
// "30m" or any Go duration. "", "0" and "never" mean forever (0).
func ParseLifetime(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	switch s {
	case "", "0", "never":
		return 0, nil
	}
	var d time.Duration
	unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
	if unit != 0 {
		n, err := strconv.ParseUint(s[:len(s)-1], 10, 32)
		if err != nil {
			return 0, invalidf("lifetime %q: want a number of days (90d), weeks (2w) or a duration (12h)", clip(s, 32))
		}
		if n > uint64(maxLifetime/unit) {
			return 0, invalidf("lifetime %q: at most ten years", clip(s, 32))
		}
		d = time.Duration(n) * unit
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, invalidf("lifetime %q: want a number of days (90d), weeks (2w) or a duration (12h)", clip(s, 32))
		}
	}
	if d <= 0 || d > maxLifetime {
		return 0, invalidf("lifetime %q: must be positive and at most ten years", clip(s, 32))
	}
	return d, nil
}

// APIToken describes an admin API token; the token itself is never stored.
type APIToken struct {
	Name      string
	Scopes    []string
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
	LastUsed  time.Time // zero: never
}

// Expired reports whether the token has expired at now.
func (t APIToken) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// ErrTokenExpired is returned by CheckAPIToken for a token past its expiry.
var ErrTokenExpired = errors.New("token expired")

// DefaultTokenName is reserved for the token of the older single-token file
// (see web.NewAdminToken), which keeps full scope.
const DefaultTokenName = "default"

var tokenNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// TokenPrefix starts every admin API token, so that secret scanners and
// people recognise one.
const TokenPrefix = "dra_"

// HashToken returns the hex SHA-256 of token, as stored.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// AddAPIToken creates a token named name with scopes, valid for lifetime
// (0: forever) from now, and returns it with its description. Show the
// token once: only its SHA-256 is stored.
func (s *Store) AddAPIToken(ctx context.Context, name string, scopes []string, lifetime time.Duration, now time.Time) (string, APIToken, error) {
	if !tokenNamePattern.MatchString(name) {
		return "", APIToken{}, invalidf("token name %q: 1-64 letters, digits, '.', '_' or '-'", clip(name, 70))
	}
	if name == DefaultTokenName {
		return "", APIToken{}, invalidf("token name %q is reserved for the token file", name)
	}
	scopes, err := ParseScopes(strings.Join(scopes, " "))
	if err != nil {
		return "", APIToken{}, err
	}
	if lifetime < 0 || lifetime > maxLifetime {
		return "", APIToken{}, invalidf("token lifetime must be positive and at most ten years")
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	t := APIToken{Name: name, Scopes: scopes, CreatedAt: now.Truncate(time.Second)}
	var exp int64
	if lifetime > 0 {
		t.ExpiresAt = now.Add(lifetime).Truncate(time.Second)
		exp = t.ExpiresAt.Unix()
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO api_tokens (name, hash, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		name, HashToken(token), strings.Join(scopes, " "), now.Unix(), exp)
	if err != nil {
		if isUniqueViolation(err) {
			return "", APIToken{}, existsf("a token named %q exists; revoke it first", name)
		}
		return "", APIToken{}, fmt.Errorf("dialplan: add token %q: %w", name, err)
	}
	return token, t, nil
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY clash.
func isUniqueViolation(err error) bool {
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

const tokenColumns = `name, scopes, created_at, expires_at, last_used`

func scanToken(row interface{ Scan(...any) error }) (APIToken, error) {
	var t APIToken
	var scopes string
	var created, expires, used int64
	if err := row.Scan(&t.Name, &scopes, &created, &expires, &used); err != nil {
		return APIToken{}, err
	}
	t.Scopes = strings.Fields(scopes)
	t.CreatedAt = time.Unix(created, 0)
	if expires != 0 {
		t.ExpiresAt = time.Unix(expires, 0)
	}
	if used != 0 {
		t.LastUsed = time.Unix(used, 0)
	}
	return t, nil
}

// APITokens lists the tokens by name.
func (s *Store) APITokens(ctx context.Context) ([]APIToken, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("dialplan: tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("dialplan: tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dialplan: tokens: %w", err)
	}
	return out, nil
}

// RevokeAPIToken deletes the token named name; it stops working at once.
func (s *Store) RevokeAPIToken(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM api_tokens WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("dialplan: revoke token: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("dialplan: revoke token: %w", err)
	} else if n == 0 {
		return notFoundf("no token named %q", clip(name, 70))
	}
	return nil
}

// lastUsedEvery is how stale last_used may get: a busy token costs one
// write a minute, not one per request.
const lastUsedEvery = time.Minute

// CheckAPIToken finds the token whose SHA-256 matches token. It returns an
// error wrapping ErrNotFound for an unknown token and ErrTokenExpired for
// an expired one, and records the use.
func (s *Store) CheckAPIToken(ctx context.Context, token string, now time.Time) (APIToken, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = ?`, HashToken(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, notFoundf("unknown token")
	}
	if err != nil {
		return APIToken{}, fmt.Errorf("dialplan: check token: %w", err)
	}
	if t.Expired(now) {
		return t, ErrTokenExpired
	}
	if now.Sub(t.LastUsed) >= lastUsedEvery {
		if _, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET last_used = ? WHERE name = ?`, now.Unix(), t.Name); err != nil {
			return APIToken{}, fmt.Errorf("dialplan: check token: %w", err)
		}
		t.LastUsed = now.Truncate(time.Second)
	}
	return t, nil
}
