package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"dialroom/config"
	"dialroom/dialplan"
	"dialroom/sfu"
	"dialroom/web"
)

const adminModlinkUsage = `dialroom admin modlink SLUG [-expires 30d] [-data DIR] [-config FILE]

Prints the path of a moderator link to the room (/r/SLUG?mod=TOKEN).
Whoever opens it joins as a moderator, also in a room for signed-in users
only: keep it as secret as a password. -expires is its lifetime (default
30d; 12h, 2w or never). dialroom room relink SLUG revokes every link of the
room at once. Same as: dialroom admin link SLUG -role moderator.
`

const adminLinkUsage = `dialroom admin link SLUG [-role participant|moderator] [-expires 30d] [-data DIR] [-config FILE]

Prints the path of a join link to the room (/r/SLUG?mod=TOKEN). A
participant link (the default) lets its holders into a room for signed-in
users only; a moderator link makes them moderators. -expires is the link's
lifetime (default 30d; 12h, 2w or never). After it the link shows "link
expired". dialroom room relink SLUG revokes every link of the room at once.
`

const roomRelinkUsage = `dialroom room relink SLUG [-data DIR] [-config FILE]

Revokes every participant and moderator link of the room, including the
older moderator links without expiry, by giving the room a new link key.
Links made afterwards work; holders of old ones see "link no longer valid".
`

// dataCmd is an admin command that needs the data directory itself (the
// token file, the link secret) as well as the store.
type dataCmd struct {
	name  string
	pos   []string
	bind  func(fs *flag.FlagSet)
	check func() error
	do    func(ctx context.Context, dir string, s *dialplan.Store, pos []string) error
}

// run parses args, checks them, opens the store and runs the command; it
// records the command in the audit log as adminCmd does.
func (c dataCmd) run(args []string) error {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	var sf storeFlags
	sf.register(fs)
	if c.bind != nil {
		c.bind(fs)
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, c.pos...); err != nil {
		return err
	}
	if c.check != nil {
		if err := c.check(); err != nil {
			return err
		}
	}
	dir := sf.data
	if dir == "" {
		cfg, err := config.Load(sf.config)
		if err != nil {
			return err
		}
		dir = cfg.DataDir
	}
	s, err := dialplan.Open(dir)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	if err := c.do(ctx, dir, s, pos); err != nil {
		return err
	}
	auditCLI(ctx, s, c.name, fs, pos, os.Stderr)
	return nil
}

func runAdminModlink(args []string, stdout, stderr io.Writer) error {
	return runJoinLink("admin modlink", sfu.RoleModerator, false, args, stdout, stderr)
}

func runAdminLink(args []string, stdout, stderr io.Writer) error {
	return runJoinLink("admin link", sfu.RoleParticipant, true, args, stdout, stderr)
}

// runJoinLink prints a join link with role (changeable by -role when
// withRole) to stdout and its expiry to stderr, so that scripts can take
// stdout as the path.
func runJoinLink(name, role string, withRole bool, args []string, stdout, stderr io.Writer) error {
	var expires string
	var life time.Duration
	bind := func(fs *flag.FlagSet) {
		fs.StringVar(&expires, "expires", "30d", "`LIFETIME` of the link: 30d, 2w, 12h or never")
		if withRole {
			fs.StringVar(&role, "role", role, "participant or moderator")
		}
	}
	check := func() error {
		if role != sfu.RoleParticipant && role != sfu.RoleModerator {
			return usagef("%s: -role %q: want participant or moderator", name, role)
		}
		var err error
		if life, err = dialplan.ParseLifetime(expires); err != nil {
			return usagef("%s: -expires: %v", name, err)
		}
		return nil
	}
	return dataCmd{name: name, pos: []string{"SLUG"}, bind: bind, check: check, do: func(ctx context.Context, dir string, s *dialplan.Store, pos []string) error {
		p, err := s.RoomLinkPolicy(ctx, pos[0])
		if err != nil {
			return err
		}
		secret, err := web.LoadOrCreateSecret(filepath.Join(dir, moderatorKeyFile))
		if err != nil {
			return err
		}
		var exp time.Time
		if life > 0 {
			exp = time.Now().Add(life)
		}
		token, err := web.JoinLinkToken(secret, p, role, exp)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, web.JoinLinkPath(p.Slug, token))
		fmt.Fprintf(stderr, "%s link, expires %s\n", role, timeOr(exp, "never"))
		return nil
	}}.run(args)
}

func runRoomRelink(args []string, stdout, stderr io.Writer) error {
	return adminCmd{name: "room relink", pos: []string{"SLUG"}, do: func(ctx context.Context, s *dialplan.Store, pos []string) error {
		if _, err := s.Relink(ctx, pos[0], time.Now()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked every join link of room %q; make new ones with dialroom admin link\n", pos[0])
		return nil
	}}.run(args)
}
