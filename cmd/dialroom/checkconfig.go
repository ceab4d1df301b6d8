package main

import (
	"flag"
	"fmt"
	"io"

	"dialroom/config"
)

const checkConfigUsage = `dialroom check-config FILE

Checks the configuration file FILE and prints every problem, one a line,
each with its key (e.g. "sip.rtp_port_min: ..."), or "FILE: ok". Exits 1
when there is a problem. A running server is not affected.
`

func runCheckConfig(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, "FILE"); err != nil {
		return err
	}
	problems := config.CheckFile(pos[0])
	for _, p := range problems {
		fmt.Fprintf(stdout, "%s: %s\n", pos[0], oneLine(p.Error()))
	}
	if len(problems) > 0 {
		return fmt.Errorf("check-config: %s has %d problem(s)", pos[0], len(problems))
	}
	fmt.Fprintf(stdout, "%s: ok\n", pos[0])
	return nil
}
