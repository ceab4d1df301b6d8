package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"dialroom/dialplan"
)

const roomSetUsage = `dialroom room set SLUG [-name TITLE] [-lang de|en] [-pin DIGITS|-no-pin] [-modpin DIGITS] [-code DIGITS] [-access open|signed-in|lobby] [-data DIR] [-config FILE]

Changes a room: only the flags given change. -no-pin removes the PIN (and
with it the moderator PIN); -modpin "" removes the moderator PIN; -code
sets the dial-in code callers of a shared number type (4-8 digits, unique).
-access says who may join from the browser: open (anyone with the room's
address), signed-in (users signed in through the directory login and
holders of a join link, see dialroom admin link) or lobby (those enter at
once; other guests wait until a moderator in the room admits them). Phone
callers are not affected: the PIN protects the dial-in.
`

func runRoomSet(args []string, stdout, stderr io.Writer) error {
	var name, lang, pin, modPIN, code, access string
	var noPIN bool
	var fs *flag.FlagSet
	bind := func(f *flag.FlagSet) {
		fs = f
		f.StringVar(&name, "name", "", "room `TITLE` shown in the browser (\"\": the slug)")
		f.StringVar(&lang, "lang", "", "prompt language: de or en")
		f.StringVar(&pin, "pin", "", "new `DIGITS` phone callers must enter (4-12)")
		f.BoolVar(&noPIN, "no-pin", false, "remove the PIN")
		f.StringVar(&modPIN, "modpin", "", "moderator `DIGITS` (4-12; \"\" removes it)")
		f.StringVar(&code, "code", "", "dial-in code `DIGITS` for shared numbers (4-8, unique)")
		f.StringVar(&access, "access", "", "who may join from the browser: open, signed-in or lobby")
	}
	var c dialplan.RoomChange
	check := func() error {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if set["pin"] && set["no-pin"] {
			return usagef("room set: -pin and -no-pin exclude each other")
		}
		if set["name"] {
			c.Name = &name
		}
		if set["lang"] {
			c.Lang = &lang
		}
		if set["pin"] {
			c.PIN = &pin
		}
		if set["modpin"] {
			c.ModeratorPIN = &modPIN
		}
		if set["code"] {
			c.DialCode = &code
		}
		if noPIN {
			empty := ""
			c.PIN = &empty
		}
		if set["access"] {
			if err := dialplan.ValidateAccess(access); err != nil {
				return usagef("room set: -access: %v", err)
			}
		} else if c == (dialplan.RoomChange{}) {
			return usagef("room set: nothing to change (see dialroom room set -h)")
		}
		return nil
	}
	return adminCmd{name: "room set", pos: []string{"SLUG"}, bind: bind, check: check, do: func(ctx context.Context, s *dialplan.Store, pos []string) error {
		if c != (dialplan.RoomChange{}) {
			r, err := s.UpdateRoom(ctx, pos[0], c)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "changed room %q (%s): title %q, lang %s, PIN %s, moderator PIN %s, dial-in code %s\n", r.Slug,
				changedFields(c), r.Name, r.Lang, yesNo(r.HasPIN()), yesNo(r.ModPINHash != ""), r.DialCode)
		}
		if access != "" {
			if err := s.SetRoomAccess(ctx, pos[0], access); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "changed room %q (access): access %s\n", pos[0], access)
		}
		return nil
	}}.run(args)
}

// changedFields names the fields c changes, for the confirmation line.
func changedFields(c dialplan.RoomChange) string {
	var f []string
	for _, x := range []struct {
		name string
		p    *string
	}{{"title", c.Name}, {"lang", c.Lang}, {"PIN", c.PIN}, {"moderator PIN", c.ModeratorPIN}, {"dial-in code", c.DialCode}} {
		if x.p != nil {
			f = append(f, x.name)
		}
	}
	return strings.Join(f, ", ")
}
