package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"dialroom/config"
	"dialroom/dialplan"
)

// commands is the command tree. Each leaf parses its own flags.
func commands() []command {
	return []command{
		{"serve", serveUsage, runServe},
		{"load", loadUsage, runLoad},
		{"version", versionUsage, runVersion},
		{"check-config", checkConfigUsage, runCheckConfig},
		{"backup", backupUsage, runBackup},
		{"restore", restoreUsage, runRestore},
		{"room add", roomAddUsage, runRoomAdd},
		{"room list", "dialroom room list [-data DIR] [-config FILE]\n\nLists the rooms: slug, title, prompt language, whether a PIN is set, numbers, dial-in code.\n", runRoomList},
		{"room rm", "dialroom room rm SLUG [-data DIR] [-config FILE]\n\nRemoves a room and its phone numbers.\n", runRoomRemove},
		{"number add", numberAddUsage, runNumberAdd},
		{"number list", "dialroom number list [-data DIR] [-config FILE]\n\nLists the phone numbers and their rooms.\n", runNumberList},
		{"trunk list", trunkListUsage, runTrunkList},
		{"trunk add", trunkAddUsage, func(args []string, stdout, stderr io.Writer) error { // trunkcmd.go
			return runTrunkAdd(args, os.Stdin, stdout, stderr)
		}},
		{"trunk set", trunkSetUsage, func(args []string, stdout, stderr io.Writer) error {
			return runTrunkSet(args, os.Stdin, stdout, stderr)
		}},
		{"trunk rm", trunkRmUsage, runTrunkRemove},
		{"room modpin", roomModPINUsage, runRoomModPIN},
		{"room set", roomSetUsage, runRoomSet},
		{"number rm", "dialroom number rm NUMBER [-data DIR] [-config FILE]\n\nRemoves a phone number.\n", runNumberRemove},
		{"admin token add", adminTokenAddUsage, runAdminTokenAdd}, // tokens.go; before "admin token"
		{"admin token list", adminTokenListUsage, runAdminTokenList},
		{"admin token revoke", adminTokenRevokeUsage, runAdminTokenRevoke},
		{"admin token", adminTokenUsage, runAdminToken},
		{"admin modlink", adminModlinkUsage, runAdminModlink}, // links.go
		{"admin link", adminLinkUsage, runAdminLink},
		{"room relink", roomRelinkUsage, runRoomRelink},
		{"audit", auditUsage, runAudit},
		{"user add", userAddUsage, func(args []string, stdout, stderr io.Writer) error { // users.go
			return runUserAdd(args, os.Stdin, stdout, stderr)
		}},
		{"user set", userSetUsage, runUserSet},
		{"user passwd", userPasswdUsage, func(args []string, stdout, stderr io.Writer) error {
			return runUserPasswd(args, os.Stdin, stdout, stderr)
		}},
		{"user rm", userRmUsage, runUserRemove},
		{"user list", userListUsage, runUserList},
		{"admin passwd", adminPasswdUsage, func(args []string, stdout, stderr io.Writer) error {
			return runAdminPasswd(args, os.Stdin, stdout, stderr)
		}},
	}
}

const serveUsage = `dialroom serve [-config FILE] [-data DIR] [-http ADDR] [-sip ADDR]

Runs the server. The flags override data_dir, http.listen and sip.listen
of the configuration file (see dialroom.example.yaml).
`

const roomAddUsage = `dialroom room add SLUG [-name TITLE] [-pin DIGITS] [-lang de|en] [-data DIR] [-config FILE]

Adds a room. SLUG is its URL name (a-z, 0-9, -). -name is the title shown
in the browser (default: SLUG), -pin the 4 to 12 digits phone callers must
type (default: none), -lang the language of the phone prompts (default de).
`

const numberAddUsage = `dialroom number add NUMBER (-room SLUG | -shared [-lang de|en]) [-data DIR] [-config FILE]

Assigns a phone number to a room. NUMBER is international: +4930123456,
0049 30 123456 or 4930123456. A -shared number belongs to no room: callers
type a room's dial-in code (see room list), then its PIN; -lang is the
language of the code prompt (default de).
`

// storeFlags are the flags every admin command takes.
type storeFlags struct {
	config, data string
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "configuration `FILE` (YAML)")
	fs.StringVar(&f.data, "data", "", "data `DIR` (default: data_dir from -config, else ./data)")
}

// open opens the store in the data directory the flags select.
func (f *storeFlags) open() (*dialplan.Store, error) {
	dir := f.data
	if dir == "" {
		cfg, err := config.Load(f.config)
		if err != nil {
			return nil, err
		}
		dir = cfg.DataDir
	}
	return dialplan.Open(dir)
}

// adminCmd describes one admin command that works on the store.
type adminCmd struct {
	name  string                 // "room add"
	pos   []string               // names of the required positionals
	bind  func(fs *flag.FlagSet) // registers the command's own flags; may be nil
	check func() error           // validates the flags before the store opens; may be nil
	do    func(ctx context.Context, s *dialplan.Store, pos []string) error
}

// run parses args, checks them, opens the store and runs the command.
func (a adminCmd) run(args []string) error {
	fs := flag.NewFlagSet(a.name, flag.ContinueOnError)
	var sf storeFlags
	sf.register(fs)
	if a.bind != nil {
		a.bind(fs)
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, a.pos...); err != nil {
		return err
	}
	if a.check != nil {
		if err := a.check(); err != nil {
			return err
		}
	}
	s, err := sf.open()
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	if err := a.do(ctx, s, pos); err != nil {
		return err
	}
	auditCLI(ctx, s, a.name, fs, pos, os.Stderr)
	return nil
}

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cfgPath, data, httpAddr, sipAddr string
	fs.StringVar(&cfgPath, "config", "", "configuration `FILE` (YAML)")
	fs.StringVar(&data, "data", "", "data `DIR`, overrides data_dir")
	fs.StringVar(&httpAddr, "http", "", "HTTP listen `ADDR`, overrides http.listen")
	fs.StringVar(&sipAddr, "sip", "", "SIP listen `ADDR`, overrides sip.listen")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	override(&cfg.DataDir, data)
	override(&cfg.HTTP.Listen, httpAddr)
	override(&cfg.SIP.Listen, sipAddr)
	if err := cfg.Validate(); err != nil {
		return usagef("serve: %v", err)
	}
	return cmdServe(cfg, stdout, stderr)
}

func override(p *string, v string) {
	if v != "" {
		*p = v
	}
}

func runRoomAdd(args []string, stdout, stderr io.Writer) error {
	var name, pin, lang string
	bind := func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "room `TITLE` shown in the browser (default: SLUG)")
		fs.StringVar(&pin, "pin", "", "`DIGITS` phone callers must enter (4-12; default: none)")
		fs.StringVar(&lang, "lang", "", "prompt language: de or en (default de)")
	}
	return adminCmd{name: "room add", pos: []string{"SLUG"}, bind: bind, do: func(ctx context.Context, s *dialplan.Store, pos []string) error {
		r, err := s.AddRoom(ctx, pos[0], name, pin, lang)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added room %q (title %q, lang %s, PIN %s)\n", r.Slug, r.Name, r.Lang, yesNo(r.HasPIN()))
		return nil
	}}.run(args)
}

func runRoomList(args []string, stdout, stderr io.Writer) error {
	return adminCmd{name: "room list", do: func(ctx context.Context, s *dialplan.Store, _ []string) error {
		rooms, err := s.Rooms(ctx)
		if err != nil {
			return err
		}
		nums, err := s.Numbers(ctx)
		if err != nil {
			return err
		}
		bySlug := map[string][]string{}
		for _, n := range nums {
			bySlug[n.RoomSlug] = append(bySlug[n.RoomSlug], n.E164)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SLUG\tNAME\tLANG\tPIN\tNUMBERS\tCODE")
		for _, r := range rooms {
			numbers := strings.Join(bySlug[r.Slug], ",")
			if numbers == "" {
				numbers = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Slug, r.Name, r.Lang, yesNo(r.HasPIN()), numbers, r.DialCode)
		}
		return tw.Flush()
	}}.run(args)
}

func runRoomRemove(args []string, stdout, stderr io.Writer) error {
	return adminCmd{name: "room rm", pos: []string{"SLUG"}, do: func(ctx context.Context, s *dialplan.Store, pos []string) error {
		if err := s.RemoveRoom(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed room %q\n", pos[0])
		return nil
	}}.run(args)
}

func runNumberAdd(args []string, stdout, stderr io.Writer) error {
	var room, lang string
	var shared bool
	bind := func(fs *flag.FlagSet) {
		fs.StringVar(&room, "room", "", "`SLUG` of the room the number leads to")
		fs.BoolVar(&shared, "shared", false, "a shared number: callers type a room's dial-in code")
		fs.StringVar(&lang, "lang", "", "with -shared: prompt language, de or en (default de)")
	}
	check := func() error { return checkNumberAddFlags(room, lang, shared) }
	return adminCmd{name: "number add", pos: []string{"NUMBER"}, bind: bind, check: check, do: func(ctx context.Context, s *dialplan.Store, pos []string) error {
		if shared {
			return addSharedNumber(ctx, s, pos[0], lang, stdout)
		}
		n, err := s.AddNumber(ctx, pos[0], room)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added number %s to room %q\n", n.E164, n.RoomSlug)
		return nil
	}}.run(args)
}

func runNumberList(args []string, stdout, stderr io.Writer) error {
	return adminCmd{name: "number list", do: func(ctx context.Context, s *dialplan.Store, _ []string) error {
		nums, err := s.Numbers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NUMBER\tROOM")
		for _, n := range nums {
			fmt.Fprintf(tw, "%s\t%s\n", n.E164, numberTarget(n))
		}
		return tw.Flush()
	}}.run(args)
}

func runNumberRemove(args []string, stdout, stderr io.Writer) error {
	return adminCmd{name: "number rm", pos: []string{"NUMBER"}, do: func(ctx context.Context, s *dialplan.Store, pos []string) error {
		if err := s.RemoveNumber(ctx, pos[0]); err != nil {
			return err
		}
		n, _ := dialplan.NormalizeNumber(pos[0])
		fmt.Fprintf(stdout, "removed number %s\n", n)
		return nil
	}}.run(args)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
