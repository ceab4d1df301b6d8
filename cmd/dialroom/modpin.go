package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"dialroom/dialplan"
)

const roomModPINUsage = `dialroom room modpin SLUG -pin DIGITS [-data DIR] [-config FILE]

Sets the room's moderator PIN (4 to 12 digits, different from the room's
PIN; -pin "" removes it). Phone callers who type it instead of the room's
PIN join as moderators. Only rooms with a PIN can have one.
`

func runRoomModPIN(args []string, stdout, stderr io.Writer) error {
	var pin string
	bind := func(fs *flag.FlagSet) {
		fs.StringVar(&pin, "pin", "", "moderator `DIGITS` (4-12; \"\" removes it)")
	}
	return adminCmd{name: "room modpin", pos: []string{"SLUG"}, bind: bind, do: func(ctx context.Context, s *dialplan.Store, pos []string) error {
		if err := s.SetModeratorPIN(ctx, pos[0], pin); err != nil {
			return err
		}
		if pin == "" {
			fmt.Fprintf(stdout, "removed the moderator PIN of room %q\n", pos[0])
		} else {
			fmt.Fprintf(stdout, "set the moderator PIN of room %q\n", pos[0])
		}
		return nil
	}}.run(args)
}
