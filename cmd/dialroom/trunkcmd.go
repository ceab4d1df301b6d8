package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"dialroom/config"
	"dialroom/dialplan"
)

const trunkAddUsage = `dialroom trunk add NAME -source CIDR[,CIDR] [-user U -password-stdin]
       [-register REGISTRAR -reg-user U [-reg-domain D] [-reg-transport udp|tcp|tls] [-reg-expires 5m] -reg-password-stdin]
       [-max-calls N] [-max-duration D] [-srtp optional|required|off] [-data DIR] [-config FILE]

Adds a trunk to the database; a running server applies it within 5 seconds.
An IP trunk lists the addresses its INVITEs come from (-source, IPs or CIDR
prefixes). -user makes every new INVITE answer a digest challenge (407);
a trunk with -user and no -source may call from anywhere. -register makes
the server register with the carrier's registrar (host:port).

Passwords are read from standard input, never from flags: with
-password-stdin the first line is the digest password, with
-reg-password-stdin the next line is the registration password. They are
stored in the database (which is then readable by its owner only) and
never shown. Names of trunks in the configuration file are refused.
Example:
  printf '%s\n' "$PW" | dialroom trunk add pbx -source 192.0.2.10 -user pbx -password-stdin
`

const trunkSetUsage = `dialroom trunk set NAME [-source CIDR[,CIDR]] [-user U -password-stdin | -no-auth]
       [-register REGISTRAR -reg-user U [-reg-domain D] [-reg-transport T] [-reg-expires D] [-reg-password-stdin] | -no-register]
       [-max-calls N] [-max-duration D] [-srtp MODE] [-data DIR] [-config FILE]

Changes a stored trunk; flags not given stay as they are. -register without
-reg-password-stdin keeps the stored registration password. A running server
applies the change within 5 seconds; calls in progress go on.
`

const trunkRmUsage = `dialroom trunk rm NAME [-data DIR] [-config FILE]

Removes a stored trunk (trunks of the configuration file are read-only). A
running server refuses its new calls within 5 seconds; calls in progress go on.
`

// trunkFlags are the flags of trunk add and trunk set.
type trunkFlags struct {
	sources, user, registrar, regUser, regDomain, regTransport, srtp string
	pwStdin, regPWStdin, noAuth, noRegister                          bool
	maxCalls                                                         int
	maxDuration, regExpires                                          time.Duration
}

func (f *trunkFlags) register(fs *flag.FlagSet, set bool) {
	fs.StringVar(&f.sources, "source", "", "comma-separated IP addresses or CIDR `prefixes`")
	fs.StringVar(&f.user, "user", "", "digest `user` every new INVITE must authenticate as (407)")
	fs.BoolVar(&f.pwStdin, "password-stdin", false, "read the digest password from the first line of standard input")
	fs.StringVar(&f.registrar, "register", "", "register with this `registrar` (host:port)")
	fs.StringVar(&f.regUser, "reg-user", "", "registration `user`")
	fs.StringVar(&f.regDomain, "reg-domain", "", "registration `domain` (default: the registrar's host)")
	fs.StringVar(&f.regTransport, "reg-transport", "", "registration `transport`: udp (default), tcp or tls")
	fs.DurationVar(&f.regExpires, "reg-expires", 0, "registration lifetime asked for (default 5m)")
	fs.BoolVar(&f.regPWStdin, "reg-password-stdin", false, "read the registration password from standard input (after the digest password)")
	fs.IntVar(&f.maxCalls, "max-calls", 0, "concurrent calls from this trunk; 0: no limit")
	fs.DurationVar(&f.maxDuration, "max-duration", 0, "end calls after this long; 0: no limit")
	fs.StringVar(&f.srtp, "srtp", "", "SRTP `mode`: optional (default), required or off")
	if set {
		fs.BoolVar(&f.noAuth, "no-auth", false, "remove the digest challenge")
		fs.BoolVar(&f.noRegister, "no-register", false, "stop registering")
	}
}

// passwords reads the passwords the flags ask for from stdin, one a line.
func (f *trunkFlags) passwords(stdin io.Reader) (digest, reg string, err error) {
	br := bufio.NewReader(io.LimitReader(stdin, 4096))
	line := func(what string) (string, error) {
		s, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read %s: %w", what, err)
		}
		s = strings.TrimRight(s, "\r\n")
		if s == "" {
			return "", usagef("%s: empty line on standard input", what)
		}
		return s, nil
	}
	if f.pwStdin {
		if digest, err = line("digest password"); err != nil {
			return "", "", err
		}
	}
	if f.regPWStdin {
		if reg, err = line("registration password"); err != nil {
			return "", "", err
		}
	}
	return digest, reg, nil
}

func splitSources(s string) []string {
	if strings.TrimSpace(s) == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// trunkCmd parses the flags of a trunk command, opens the store and
// checks the name against the configuration's trunks.
func trunkCmd(name string, args []string, bind func(*flag.FlagSet), do func(ctx context.Context, s *dialplan.Store, fs *flag.FlagSet, trunk string) error) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var sf storeFlags
	sf.register(fs)
	if bind != nil {
		bind(fs)
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, "NAME"); err != nil {
		return err
	}
	cfg, err := config.Load(sf.config)
	if err != nil {
		return err
	}
	if configNames(cfg.SIP.Trunks)[pos[0]] {
		return fmt.Errorf("%s: trunk %s is defined in the configuration file %s (read-only there)", name, pos[0], sf.config)
	}
	if sf.data == "" {
		sf.data = cfg.DataDir
	}
	s, err := dialplan.Open(sf.data)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	if err := do(ctx, s, fs, pos[0]); err != nil {
		return err
	}
	auditCLI(ctx, s, name, fs, pos, os.Stderr)
	return nil
}

func runTrunkAdd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var f trunkFlags
	return trunkCmd("trunk add", args, func(fs *flag.FlagSet) { f.register(fs, false) },
		func(ctx context.Context, s *dialplan.Store, fs *flag.FlagSet, name string) error {
			if f.user != "" && !f.pwStdin {
				return usagef("trunk add: -user needs -password-stdin")
			}
			if f.registrar != "" && !f.regPWStdin {
				return usagef("trunk add: -register needs -reg-password-stdin")
			}
			pw, regPW, err := f.passwords(stdin)
			if err != nil {
				return err
			}
			t := dialplan.StoredTrunk{Name: name, Sources: splitSources(f.sources), Username: f.user, Password: pw,
				MaxCalls: f.maxCalls, MaxDuration: f.maxDuration, SRTP: f.srtp}
			if f.registrar != "" {
				t.Register = &dialplan.TrunkRegistration{Registrar: f.registrar, Transport: f.regTransport,
					Username: f.regUser, Password: regPW, Domain: f.regDomain, Expires: f.regExpires}
			}
			if _, err := s.AddTrunk(ctx, t); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "trunk %s added; a running server applies it within %v\n", name, trunkPollInterval)
			return nil
		})
}

func runTrunkSet(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var f trunkFlags
	return trunkCmd("trunk set", args, func(fs *flag.FlagSet) { f.register(fs, true) },
		func(ctx context.Context, s *dialplan.Store, fs *flag.FlagSet, name string) error {
			given := map[string]bool{}
			fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
			c, err := f.change(given, stdin)
			if err != nil {
				return err
			}
			if _, err := s.UpdateTrunk(ctx, name, c); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "trunk %s changed; a running server applies it within %v\n", name, trunkPollInterval)
			return nil
		})
}

// change builds the update from the flags that were given.
func (f *trunkFlags) change(given map[string]bool, stdin io.Reader) (dialplan.TrunkChange, error) {
	var c dialplan.TrunkChange
	switch {
	case f.noAuth && (given["user"] || f.pwStdin):
		return c, usagef("trunk set: -no-auth with -user or -password-stdin")
	case f.noRegister && given["register"]:
		return c, usagef("trunk set: -no-register with -register")
	case f.regPWStdin && !given["register"]:
		return c, usagef("trunk set: -reg-password-stdin needs -register")
	}
	pw, regPW, err := f.passwords(stdin)
	if err != nil {
		return c, err
	}
	if given["source"] {
		srcs := splitSources(f.sources)
		c.Sources = &srcs
	}
	if given["user"] {
		c.Username = &f.user
	}
	if f.pwStdin {
		c.Password = &pw
	}
	if f.noAuth {
		none := ""
		c.Username = &none
	}
	if given["max-calls"] {
		c.MaxCalls = &f.maxCalls
	}
	if given["max-duration"] {
		c.MaxDuration = &f.maxDuration
	}
	if given["srtp"] {
		c.SRTP = &f.srtp
	}
	if given["register"] {
		c.Register = &dialplan.TrunkRegistration{Registrar: f.registrar, Transport: f.regTransport,
			Username: f.regUser, Password: regPW, Domain: f.regDomain, Expires: f.regExpires}
	}
	c.NoRegister = f.noRegister
	return c, nil
}

func runTrunkRemove(args []string, stdout, stderr io.Writer) error {
	return trunkCmd("trunk rm", args, nil, func(ctx context.Context, s *dialplan.Store, _ *flag.FlagSet, name string) error {
		if err := s.RemoveTrunk(ctx, name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "trunk %s removed; a running server refuses its new calls within %v\n", name, trunkPollInterval)
		return nil
	})
}
