package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"dialroom/config"
	"dialroom/sip"
)

// sipTrunks converts the configured trunks for package sip. The config was
// validated by config.Load, so sources parse.
func sipTrunks(trunks []config.Trunk) []sip.Trunk {
	out := make([]sip.Trunk, 0, len(trunks))
	for _, t := range trunks {
		srcs, _ := config.TrunkSources(t.Sources)
		st := sip.Trunk{Name: t.Name, Sources: srcs, Username: t.Username, Password: t.Password,
			MaxCalls: t.MaxCalls, MaxDuration: t.MaxDuration, SRTP: sip.SRTPMode(t.SRTP)}
		if r := t.Register; r != nil {
			st.Register = &sip.Registration{Registrar: r.Registrar, Username: r.Username,
				Password: r.Password, Domain: r.Domain, Expires: r.Expires, Transport: string(r.Transport)}
		}
		out = append(out, st)
	}
	return out
}

const trunkListUsage = `dialroom trunk list [-config FILE] [-data DIR]

Lists the trunks allowed to place calls (sip.trunks in the configuration,
plus the implicit "loopback" trunk unless sip.trust_loopback is false):
name, source addresses, whether INVITEs must pass a digest challenge, and
the trunk's state. IP trunks need no registration ("ready"); registration
trunks show "registered until …" or the last error, as the running server
wrote it to trunk-state.json in the data directory.
`

// runTrunkList prints the configured trunks. It reads only the
// configuration file: trunks are configuration, not data.
func runTrunkList(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("trunk list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (default: built-in defaults)")
	data := fs.String("data", "", "data directory (default: data_dir of the configuration)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if *data == "" {
		*data = cfg.DataDir
	}
	states, err := readTrunkStates(*data)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSOURCES\tAUTH\tSTATE")
	for _, t := range cfg.SIP.Trunks {
		srcs := strings.Join(t.Sources, ",")
		if srcs == "" {
			srcs = "any (password only)"
		}
		auth := "-"
		if t.Username != "" {
			auth = "digest (407) user " + t.Username
		}
		state := "ready"
		if t.Register != nil {
			srcs = "registrar " + t.Register.Registrar
			st, ok := states[t.Name]
			state = describeState(st, ok, time.Now())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, srcs, auth, state)
	}
	if cfg.SIP.LoopbackTrusted() {
		fmt.Fprintln(tw, "loopback\t127.0.0.0/8,::1\t-\tready (sip.trust_loopback)")
	}
	fmt.Fprintf(tw, "(others)\t\t\t%s\n", othersState(cfg.SIP))
	return tw.Flush()
}

// othersState says what happens to INVITEs from sources no trunk lists.
func othersState(c config.SIP) string {
	for _, t := range c.Trunks {
		if len(t.Sources) == 0 {
			return "challenged with 407 (a trunk has no sources)"
		}
	}
	if c.DropUnknown {
		return "ignored (sip.drop_unknown)"
	}
	return "refused with 403"
}
