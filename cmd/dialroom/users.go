package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"dialroom/dialplan"
)

// Local user accounts (dialplan/users.go): people who sign in at /login
// (and, as admins, at /admin) without a directory server.

const userAddUsage = `dialroom user add NAME -role admin|moderator|user [-display NAME] [-data DIR] [-config FILE]

Creates a local account. The password (at least 10 characters) is read from
the first line of standard input, never from a flag:
  read -rs PW; printf '%s\n' "$PW" | dialroom user add alice -role moderator
Admins use the console and moderate every room; moderators join every room
as moderators; users join as participants (and may enter rooms that admit
signed-in users only).
`

const userSetUsage = `dialroom user set NAME -role admin|moderator|user [-data DIR] [-config FILE]

Changes a local account's role (from the user's next sign-in).
`

const userPasswdUsage = `dialroom user passwd NAME [-data DIR] [-config FILE]

Sets a local account's password, read from the first line of standard input.
`

const userRmUsage = `dialroom user rm NAME [-data DIR] [-config FILE]

Removes a local account.
`

const userListUsage = `dialroom user list [-data DIR] [-config FILE]

Lists the local accounts: name, display name, role, created.
`

// readSecret reads a password from the first line of r.
func readSecret(r io.Reader, what string) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func runUserAdd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var role, display string
	bind := func(fs *flag.FlagSet) {
		fs.StringVar(&role, "role", "", "admin, moderator or user")
		fs.StringVar(&display, "display", "", "the name shown in meetings (default: NAME)")
	}
	check := func() error {
		if role == "" {
			return usagef("user add: -role is required (admin, moderator or user)")
		}
		return nil
	}
	return adminCmd{name: "user add", pos: []string{"NAME"}, bind: bind, check: check, do: func(ctx context.Context, s *dialplan.Store, pos []string) error {
		pw, err := readSecret(stdin, "password")
		if err != nil {
			return err
		}
		if err := s.AddUser(ctx, dialplan.User{Name: pos[0], DisplayName: display, Role: role}, pw); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added user %s (%s)\n", pos[0], role)
		return nil
	}}.run(args)
}

func runUserSet(args []string, stdout, stderr io.Writer) error {
	var role string
	bind := func(fs *flag.FlagSet) { fs.StringVar(&role, "role", "", "admin, moderator or user") }
	check := func() error {
		if role == "" {
			return usagef("user set: -role is required")
		}
		return nil
	}
	return adminCmd{name: "user set", pos: []string{"NAME"}, bind: bind, check: check, do: func(ctx context.Context, s *dialplan.Store, pos []string) error {
		if err := s.SetUserRole(ctx, pos[0], role); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s is now %s\n", pos[0], role)
		return nil
	}}.run(args)
}

func runUserPasswd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return adminCmd{name: "user passwd", pos: []string{"NAME"}, do: func(ctx context.Context, s *dialplan.Store, pos []string) error {
		pw, err := readSecret(stdin, "password")
		if err != nil {
			return err
		}
		if err := s.SetUserPassword(ctx, pos[0], pw); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password set for user %s\n", pos[0])
		return nil
	}}.run(args)
}

func runUserRemove(args []string, stdout, stderr io.Writer) error {
	return adminCmd{name: "user rm", pos: []string{"NAME"}, do: func(ctx context.Context, s *dialplan.Store, pos []string) error {
		if err := s.RemoveUser(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed user %s\n", pos[0])
		return nil
	}}.run(args)
}

func runUserList(args []string, stdout, stderr io.Writer) error {
	return adminCmd{name: "user list", do: func(ctx context.Context, s *dialplan.Store, _ []string) error {
		users, err := s.Users(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tDISPLAY NAME\tROLE\tCREATED")
		for _, u := range users {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", u.Name, u.DisplayName, u.Role, u.CreatedAt.UTC().Format("2006-01-02"))
		}
		return w.Flush()
	}}.run(args)
}
