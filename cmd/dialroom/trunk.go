package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"dialroom/config"
	"dialroom/dialplan"
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

Lists the trunks allowed to place calls: those of sip.trunks in the
configuration (origin "config", read-only), those added with dialroom trunk
add or the admin API (origin "stored"), plus the implicit "loopback" trunk
unless sip.trust_loopback is false. For each: name, source addresses,
whether INVITEs must pass a digest challenge, the SIP transport, the SRTP
mode, the trunk's state and its origin. The transport of a registration
trunk is the one it registers over (its calls arrive on that listener); an
IP trunk may call over every listener (udp,tcp, plus tls with sip.tls).
SRTP is optional, required or off. IP trunks need no registration
("ready"); registration trunks show "registered until …" or the last error
and when the next attempt is due, as the running server wrote it to
trunk-state.json in the data directory. Passwords are never shown.
`

// runTrunkList prints the configured and the stored trunks.
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
	stored, err := readStoredTrunks(*data)
	if err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSOURCES\tAUTH\tTRANSPORT\tSRTP\tSTATE\tORIGIN")
	tlsOn := cfg.SIP.TLS.On()
	for _, t := range cfg.SIP.Trunks {
		row := listRow{name: t.Name, sources: t.Sources, user: t.Username, srtp: string(t.SRTP)}
		if r := t.Register; r != nil {
			row.registrar, row.regTransport = r.Registrar, string(r.Transport)
		}
		st, ok := states[t.Name]
		fmt.Fprintln(tw, row.format(tlsOn, st, ok, now)+"\tconfig")
	}
	taken := configNames(cfg.SIP.Trunks)
	for _, t := range stored {
		if taken[t.Name] {
			fmt.Fprintf(tw, "%s\t\t\t\t\tignored: the configuration has a trunk of that name\tstored\n", t.Name)
			continue
		}
		row := listRow{name: t.Name, sources: t.Sources, user: t.Username, srtp: t.SRTP}
		if r := t.Register; r != nil {
			row.registrar, row.regTransport = r.Registrar, r.Transport
		}
		st, ok := states[t.Name]
		fmt.Fprintln(tw, row.format(tlsOn, st, ok, now)+"\tstored")
	}
	if cfg.SIP.LoopbackTrusted() {
		fmt.Fprintf(tw, "loopback\t127.0.0.0/8,::1\t-\t%s\t%s\tready (sip.trust_loopback)\tbuilt-in\n",
			trunkTransport(false, "", tlsOn), trunkSRTP(""))
	}
	fmt.Fprintf(tw, "(others)\t\t\t\t\t%s\t\n", othersState(cfg.SIP, stored))
	return tw.Flush()
}

// listRow is what trunk list shows of one trunk.
type listRow struct {
	name                    string
	sources                 []string
	user                    string // digest user; "" for none
	registrar, regTransport string // "" for an IP trunk
	srtp                    string
}

// format is the row's line of trunk list, without the origin.
func (r listRow) format(tlsOn bool, st sip.TrunkState, ok bool, now time.Time) string {
	srcs := strings.Join(r.sources, ",")
	if srcs == "" {
		srcs = "any (password only)"
	}
	auth := "-"
	if r.user != "" {
		auth = "digest (407) user " + r.user
	}
	state := "ready"
	if r.registrar != "" {
		srcs = "registrar " + r.registrar
		state = describeState(st, ok, now)
	}
	return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", r.name, srcs, auth,
		trunkTransport(r.registrar != "", r.regTransport, tlsOn), trunkSRTP(r.srtp), state)
}

// trunkTransport is the SIP transport of a trunk: a registration trunk's
// is the one it registers over ("udp" by default), and the carrier sends
// its calls to that listener; an IP trunk may call over every listener
// the server has.
func trunkTransport(registers bool, regTransport string, tlsOn bool) string {
	switch {
	case registers && regTransport == "":
		return "udp"
	case registers:
		return strings.ToLower(regTransport)
	case tlsOn:
		return "udp,tcp,tls"
	}
	return "udp,tcp"
}

// trunkSRTP is a trunk's SRTP mode, "" meaning the default.
func trunkSRTP(mode string) string {
	if mode == "" {
		return string(sip.SRTPOptional)
	}
	return mode
}

// readStoredTrunks lists the trunks of the database in dataDir, without
// creating one where there is none yet.
func readStoredTrunks(dataDir string) ([]dialplan.StoredTrunk, error) {
	if _, err := os.Stat(filepath.Join(dataDir, dialplan.DBFile)); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	s, err := dialplan.Open(dataDir)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Trunks(context.Background())
}

// othersState says what happens to INVITEs from sources no trunk lists.
func othersState(c config.SIP, stored []dialplan.StoredTrunk) string {
	for _, t := range c.Trunks {
		if len(t.Sources) == 0 && t.Username != "" {
			return "challenged with 407 (a trunk has no sources)"
		}
	}
	for _, t := range stored {
		if len(t.Sources) == 0 && t.Username != "" {
			return "challenged with 407 (a trunk has no sources)"
		}
	}
	if c.DropUnknown {
		return "ignored (sip.drop_unknown)"
	}
	return "refused with 403"
}
