// Command dialroom runs the dialroom meeting server ("dialroom serve") and
// administers its rooms and phone numbers ("dialroom room …", "dialroom
// number …"). main only wires: run parses the command line and hands over
// to one function per command, so tests call run directly.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// version is the program version printed by "dialroom version".
const version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command failed
	exitUsage = 2 // the command line is wrong
)

// usageError is a wrong command line; it exits with exitUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// command is one leaf of the command tree, e.g. "room add".
type command struct {
	path  string // "room add"
	usage string // full help text
	run   func(args []string, stdout, stderr io.Writer) error
}

// run executes the command line args (without the program name) and
// returns the process exit code. Errors go to stderr as one line.
func run(args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 {
		fmt.Fprintln(stderr, "dialroom: no command (see dialroom help)")
		return exitUsage
	}
	if isHelp(args[0]) {
		return help(cmds, args[1:], stdout, stderr)
	}
	c, rest, err := lookup(cmds, args)
	if err == nil {
		err = c.run(rest, stdout, stderr)
	}
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		printUsage(stdout, c.usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "dialroom: %s\n", oneLine(err.Error()))
		if errors.As(err, new(*usageError)) {
			return exitUsage
		}
		return exitError
	}
}

// lookup finds the command named by the leading words of args. A group
// word followed by help, -h or --help (or nothing) is a request for help.
func lookup(cmds []command, args []string) (command, []string, error) {
	for _, c := range cmds {
		words := strings.Fields(c.path)
		if len(args) >= len(words) && equalWords(words, args[:len(words)]) {
			return c, args[len(words):], nil
		}
	}
	if group := groupUsage(cmds, args[0]); group != "" {
		if len(args) == 1 || isHelp(args[1]) {
			return command{usage: group}, nil, flag.ErrHelp
		}
		return command{}, nil, usagef("unknown command %q (see dialroom help %s)", args[0]+" "+args[1], args[0])
	}
	return command{}, nil, usagef("unknown command %q (see dialroom help)", args[0])
}

// help prints the usage of the command named by args to stdout.
func help(cmds []command, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, topUsage)
		return exitOK
	}
	c, _, err := lookup(cmds, args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, "dialroom: %s\n", err)
		return exitUsage
	}
	printUsage(stdout, c.usage)
	return exitOK
}

// printUsage prints a command's usage; a leaf's starts with its synopsis.
func printUsage(w io.Writer, usage string) {
	if !strings.HasPrefix(usage, "Usage:") {
		fmt.Fprint(w, "Usage: ")
	}
	fmt.Fprint(w, usage)
}

// groupUsage returns the usage of a command group ("room", "number"), or "".
func groupUsage(cmds []command, word string) string {
	var b strings.Builder
	for _, c := range cmds {
		if strings.HasPrefix(c.path, word+" ") {
			b.WriteString("  " + strings.SplitN(c.usage, "\n", 2)[0] + "\n")
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "Usage:\n" + b.String() + "\nRun dialroom help " + word + " COMMAND for details.\n"
}

func isHelp(s string) bool { return s == "help" || s == "-h" || s == "-help" || s == "--help" }

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// parseArgs parses args with fs, allowing flags before, between and after
// positionals ("room add demo -pin 1234 -data /srv/x"). "--" ends the
// flags; a first positional "help" asks for help. It returns the
// positionals.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, flag.ErrHelp
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) > 0 && pos[0] == "help" {
		return nil, flag.ErrHelp
	}
	return pos, nil
}

// wantArgs checks the number of positionals.
func wantArgs(fs *flag.FlagSet, pos []string, names ...string) error {
	if len(pos) < len(names) {
		return usagef("%s: missing %s (see dialroom %s -h)", fs.Name(), names[len(pos)], fs.Name())
	}
	if len(pos) > len(names) {
		return usagef("%s: unexpected argument %q (see dialroom %s -h)", fs.Name(), pos[len(names)], fs.Name())
	}
	return nil
}

const topUsage = `dialroom - meeting rooms for browsers and telephones

Usage:
  dialroom serve [-config FILE] [-data DIR] [-http ADDR] [-sip ADDR]
  dialroom room add SLUG [-name TITLE] [-pin DIGITS] [-lang de|en]
  dialroom room set SLUG [-name TITLE] [-lang de|en] [-pin DIGITS|-no-pin] [-modpin DIGITS] [-access open|signed-in|lobby]
  dialroom room modpin SLUG -pin DIGITS
  dialroom room list
  dialroom room rm SLUG
  dialroom number add NUMBER (-room SLUG | -shared [-lang de|en])
  dialroom number list
  dialroom number rm NUMBER
  dialroom trunk list [-config FILE]
  dialroom trunk add NAME -source CIDR[,CIDR] [-user U -password-stdin] [-register HOST:PORT -reg-user U -reg-password-stdin]
  dialroom trunk set NAME [...same flags...] [-no-auth] [-no-register]
  dialroom trunk rm NAME
  dialroom admin passwd [-user NAME]      (password from standard input)
  dialroom user add NAME -role admin|moderator|user [-display NAME]   (password from standard input)
  dialroom user set NAME -role ROLE | user passwd NAME | user rm NAME | user list
  dialroom admin token [add -name NAME [-scope SCOPES] [-expires 90d] | list | revoke NAME]
  dialroom admin link SLUG [-role participant|moderator] [-expires 30d]
  dialroom admin modlink SLUG [-expires 30d]
  dialroom room relink SLUG
  dialroom load -number NUMBER [-pin DIGITS] [-sip ADDR] [-calls N] [-duration D] [-pid PID]
  dialroom check-config FILE
  dialroom audit [-since D]
  dialroom backup FILE
  dialroom restore FILE
  dialroom version
  dialroom help [COMMAND]

The room, number, trunk, admin, audit, backup and restore commands take -data DIR
(default: data_dir from -config FILE, else ./data) and -config FILE, like serve. Flags may come before or
after the arguments. Run dialroom help COMMAND for details.
`
