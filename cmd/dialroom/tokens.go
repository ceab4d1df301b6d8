package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"dialroom/dialplan"
	"dialroom/web"
)

const adminTokenUsage = `dialroom admin token [-data DIR] [-config FILE]

Creates the token of the token file, named "default", with the admin scope
(everything), and prints it once; a new one replaces the old one at once.
Prefer named tokens with only the scopes they need: dialroom admin token
add. Only hashes are stored; tokens go in "Authorization: Bearer TOKEN" of
/api/v1 requests.
`

const adminTokenAddUsage = `dialroom admin token add -name NAME [-scope SCOPES] [-expires 90d] [-data DIR] [-config FILE]

Creates a named admin API token and prints it once (only its SHA-256 is
stored). -scope is a comma-separated list (default read):
  admin        everything, including managing tokens
  read         every :read scope below
  rooms:read   rooms, numbers, trunks, room access   rooms:write  change them, join links
  live:read    rooms in progress                     live:write   mute, remove, end
  audit:read   the audit log
x:write includes x:read. -expires is a lifetime (90d, 2w, 12h) or never
(the default). A request the token's scopes do not cover gets 403.
`

const adminTokenListUsage = `dialroom admin token list [-data DIR] [-config FILE]

Lists the admin API tokens: name, scopes, created, last used, expiry. The
tokens themselves are not stored and cannot be shown.
`

const adminTokenRevokeUsage = `dialroom admin token revoke NAME [-data DIR] [-config FILE]

Revokes the admin API token NAME at once, without a restart. "default" is
the token file's token.
`

func runAdminToken(args []string, stdout, stderr io.Writer) error {
	dir, _, err := dataDirFlags("admin token", args)
	if err != nil {
		return err
	}
	token, err := web.NewAdminToken(filepath.Join(dir, adminTokenFile))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "admin token (shown only now): %s\n", token)
	return nil
}

func runAdminTokenAdd(args []string, stdout, stderr io.Writer) error {
	var name, scope, expires string
	var scopes []string
	var life time.Duration
	bind := func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "token `NAME` (letters, digits, . _ -)")
		fs.StringVar(&scope, "scope", dialplan.ScopeRead, "comma-separated `SCOPES`")
		fs.StringVar(&expires, "expires", "never", "`LIFETIME`: 90d, 2w, 12h or never")
	}
	check := func() error {
		if name == "" {
			return usagef("admin token add: -name is required")
		}
		var err error
		if scopes, err = dialplan.ParseScopes(scope); err != nil {
			return usagef("admin token add: %v", err)
		}
		if life, err = dialplan.ParseLifetime(expires); err != nil {
			return usagef("admin token add: %v", err)
		}
		return nil
	}
	return adminCmd{name: "admin token add", bind: bind, check: check, do: func(ctx context.Context, s *dialplan.Store, _ []string) error {
		token, t, err := s.AddAPIToken(ctx, name, scopes, life, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "admin token %q (%s, expires %s), shown only now: %s\n",
			t.Name, strings.Join(t.Scopes, ","), timeOr(t.ExpiresAt, "never"), token)
		return nil
	}}.run(args)
}

func runAdminTokenList(args []string, stdout, stderr io.Writer) error {
	return dataCmd{name: "admin token list", do: func(ctx context.Context, dir string, s *dialplan.Store, _ []string) error {
		list, err := s.APITokens(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSCOPES\tCREATED\tLAST USED\tEXPIRES")
		if st, err := os.Stat(filepath.Join(dir, adminTokenFile)); err == nil && st.Size() > 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", dialplan.DefaultTokenName, dialplan.ScopeAdmin,
				st.ModTime().UTC().Format(time.DateTime), "-", "never (token file)")
		}
		for _, t := range list {
			exp := timeOr(t.ExpiresAt, "never")
			if t.Expired(now) {
				exp += " (expired)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, strings.Join(t.Scopes, ","), t.CreatedAt.UTC().Format(time.DateTime),
				timeOr(t.LastUsed, "never"), exp)
		}
		return tw.Flush()
	}}.run(args)
}

func runAdminTokenRevoke(args []string, stdout, stderr io.Writer) error {
	return dataCmd{name: "admin token revoke", pos: []string{"NAME"}, do: func(ctx context.Context, dir string, s *dialplan.Store, pos []string) error {
		var err error
		if pos[0] == dialplan.DefaultTokenName {
			if err = os.Remove(filepath.Join(dir, adminTokenFile)); errors.Is(err, fs.ErrNotExist) {
				err = fmt.Errorf("no token named %q: %w", pos[0], dialplan.ErrNotFound)
			}
		} else {
			err = s.RevokeAPIToken(ctx, pos[0])
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked admin token %q\n", pos[0])
		return nil
	}}.run(args)
}

// timeOr formats t in UTC, or returns zero for the zero time.
func timeOr(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.UTC().Format(time.DateTime)
}
