package dialplan

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestGrants(t *testing.T) {
	for _, tc := range []struct {
		scopes []string
		need   string
		want   bool
	}{
		{[]string{ScopeAdmin}, ScopeAdmin, true},
		{[]string{ScopeAdmin}, ScopeLiveWrite, true},
		{[]string{ScopeRead}, ScopeRoomsRead, true},
		{[]string{ScopeRead}, ScopeAuditRead, true},
		{[]string{ScopeRead}, ScopeRoomsWrite, false},
		{[]string{ScopeRead}, ScopeAdmin, false},
		{[]string{ScopeRoomsWrite}, ScopeRoomsRead, true},
		{[]string{ScopeRoomsWrite}, ScopeLiveRead, false},
		{[]string{ScopeRoomsRead}, ScopeRoomsWrite, false},
		{[]string{ScopeLiveRead, ScopeAuditRead}, ScopeAuditRead, true},
		{[]string{ScopeRoomsWrite, ScopeLiveWrite, ScopeAuditRead}, ScopeAdmin, false},
		{nil, ScopeRoomsRead, false},
		{[]string{ScopeRoomsRead}, "", false},
	} {
		if got := Grants(tc.scopes, tc.need); got != tc.want {
			t.Errorf("Grants(%v, %q): got %v, want %v", tc.scopes, tc.need, got, tc.want)
		}
	}
}

func TestParseScopes(t *testing.T) {
	got, err := ParseScopes("rooms:read, live:write rooms:read")
	if err != nil || strings.Join(got, " ") != "rooms:read live:write" {
		t.Errorf("got %v, %v; want [rooms:read live:write]", got, err)
	}
	for _, bad := range []string{"", " , ", "rooms", "rooms:delete", "ADMIN"} {
		if _, err := ParseScopes(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseScopes(%q): got %v, want ErrInvalid", bad, err)
		}
	}
}

func TestParseLifetime(t *testing.T) {
	day := 24 * time.Hour
	for in, want := range map[string]time.Duration{
		"": 0, "never": 0, "0": 0, "90d": 90 * day, "2w": 14 * day, "12h": 12 * time.Hour, "30m": 30 * time.Minute, " 7D ": 7 * day,
	} {
		if got, err := ParseLifetime(in); err != nil || got != want {
			t.Errorf("ParseLifetime(%q): got %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"d", "-1d", "1.5d", "x", "-5h", "99999999d", "3651d", "87601h", "1y"} {
		if _, err := ParseLifetime(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseLifetime(%q): got %v, want ErrInvalid", bad, err)
		}
	}
}

func FuzzParseLifetime(f *testing.F) {
	for _, s := range []string{"90d", "2w", "12h", "never", "", "d", "1e9d", "18446744073709551615d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseLifetime(s)
		if err == nil && (d < 0 || d > maxLifetime) {
			t.Errorf("ParseLifetime(%q) = %v, out of range", s, d)
		}
	})
}

func FuzzParseScopes(f *testing.F) {
	f.Add("rooms:read,live:write")
	f.Add("admin read")
	f.Fuzz(func(t *testing.T, s string) {
		scopes, err := ParseScopes(s)
		if err == nil && len(scopes) == 0 {
			t.Errorf("ParseScopes(%q): no scopes and no error", s)
		}
	})
}

func TestAPITokens(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	tok, info, err := s.AddAPIToken(ctx, "ci", []string{ScopeRoomsRead, ScopeRoomsRead}, 90*24*time.Hour, now)
	if err != nil {
		t.Fatalf("AddAPIToken: %v", err)
	}
	if !strings.HasPrefix(tok, TokenPrefix) || len(tok) < 40 {
		t.Errorf("token %q: want %s and 32 random bytes", tok, TokenPrefix)
	}
	if len(info.Scopes) != 1 || !info.ExpiresAt.Equal(now.Add(90*24*time.Hour)) {
		t.Errorf("got %+v, want one scope, expiry in 90 days", info)
	}
	if _, _, err := s.AddAPIToken(ctx, "ci", []string{ScopeAdmin}, 0, now); !errors.Is(err, ErrExists) {
		t.Errorf("same name again: got %v, want ErrExists", err)
	}
	for _, name := range []string{"", "default", "-x", "a b", strings.Repeat("a", 65)} {
		if _, _, err := s.AddAPIToken(ctx, name, []string{ScopeAdmin}, 0, now); !errors.Is(err, ErrInvalid) {
			t.Errorf("name %q: got %v, want ErrInvalid", name, err)
		}
	}
	if _, _, err := s.AddAPIToken(ctx, "x", []string{"rooms"}, 0, now); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad scope: got %v, want ErrInvalid", err)
	}

	got, err := s.CheckAPIToken(ctx, tok, now.Add(time.Hour))
	if err != nil || got.Name != "ci" || !got.LastUsed.Equal(now.Add(time.Hour)) {
		t.Fatalf("CheckAPIToken: got %+v, %v; want ci, last used now", got, err)
	}
	if _, err := s.CheckAPIToken(ctx, tok+"x", now); !errors.Is(err, ErrNotFound) {
		t.Errorf("wrong token: got %v, want ErrNotFound", err)
	}
	if _, err := s.CheckAPIToken(ctx, tok, now.Add(90*24*time.Hour)); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("at expiry: got %v, want ErrTokenExpired", err)
	}

	list, err := s.APITokens(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "ci" || !list[0].LastUsed.Equal(now.Add(time.Hour)) {
		t.Fatalf("APITokens: got %+v, %v", list, err)
	}
	if err := s.RevokeAPIToken(ctx, "ci"); err != nil {
		t.Fatalf("RevokeAPIToken: %v", err)
	}
	if _, err := s.CheckAPIToken(ctx, tok, now); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked token: got %v, want ErrNotFound", err)
	}
	if err := s.RevokeAPIToken(ctx, "ci"); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke twice: got %v, want ErrNotFound", err)
	}
}
