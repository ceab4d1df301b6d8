package main

import (
	"context"
	"fmt"
	"io"

	"dialroom/dialplan"
)

// checkNumberAddFlags checks number add's flags: either -room or -shared.
func checkNumberAddFlags(room, lang string, shared bool) error {
	switch {
	case shared && room != "":
		return usagef("number add: -room and -shared exclude each other")
	case !shared && lang != "":
		return usagef("number add: -lang only goes with -shared (a room number speaks the room's language)")
	case !shared && room == "":
		return usagef("number add: missing -room SLUG (see dialroom number add -h)")
	}
	return nil
}

// addSharedNumber adds a number whose callers type a room's dial-in code.
func addSharedNumber(ctx context.Context, s *dialplan.Store, number, lang string, stdout io.Writer) error {
	n, err := s.AddSharedNumber(ctx, number, lang)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added shared number %s (callers type a dial-in code; prompts in %s)\n", n.E164, n.Lang)
	return nil
}

// numberTarget is the ROOM column of number list.
func numberTarget(n dialplan.Number) string {
	if n.Shared {
		return "(shared, " + n.Lang + ")"
	}
	return n.RoomSlug
}
