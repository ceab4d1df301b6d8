package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"dialroom/dialplan"
	"dialroom/sfu"
)

const auditUsage = `dialroom audit [-since D] [-data DIR] [-config FILE]

Shows the audit log: who changed which room or number, and what
moderators did in meetings, oldest first. -since is a duration back from
now (e.g. 24h, 168h; default 720h = 30 days) or an RFC 3339 time. Phone
numbers are masked; PINs are never recorded. Entries older than
privacy.retention_days are deleted by the running server.
`

func runAudit(args []string, stdout, stderr io.Writer) error {
	var since string
	bind := func(fs *flag.FlagSet) {
		fs.StringVar(&since, "since", "720h", "entries since this `D`uration ago or RFC 3339 time")
	}
	var from time.Time
	check := func() error {
		t, err := sinceTime(since, time.Now())
		from = t
		return err
	}
	return adminCmd{name: "audit", bind: bind, check: check, do: func(ctx context.Context, s *dialplan.Store, _ []string) error {
		list, err := s.AuditLog(ctx, from, 0)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tTARGET\tDETAIL")
		for _, e := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.At.Local().Format("2006-01-02 15:04:05"),
				e.Actor, e.Action, dash(e.Target), dash(e.Detail))
		}
		return tw.Flush()
	}}.run(args)
}

// sinceTime reads -since: a duration before now or an RFC 3339 time.
func sinceTime(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return time.Time{}, usagef("audit: -since %q: want a duration such as 24h or an RFC 3339 time", v)
	}
	return now.Add(-d), nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// auditCLI records a command that changed the database in the audit log:
// the command, its target (a number masked) and the names of the flags
// given, never their values (a PIN is one). Reading commands leave no
// entry. A failed write is only reported: the change itself is done.
func auditCLI(ctx context.Context, s *dialplan.Store, name string, fs *flag.FlagSet, pos []string, stderr io.Writer) {
	if strings.HasSuffix(name, " list") || name == "audit" || name == "backup" {
		return
	}
	target := ""
	if len(pos) > 0 {
		target = pos[0]
		if strings.HasPrefix(name, "number ") {
			n, err := dialplan.NormalizeNumber(target)
			if err == nil {
				target = n
			}
			target = dialplan.MaskNumber(target)
		}
	}
	var flags []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "data" && f.Name != "config" {
			flags = append(flags, "-"+f.Name)
		}
	})
	e := dialplan.AuditEntry{Actor: cliActor(), Action: strings.ReplaceAll(name, " ", "."), Target: target,
		Detail: strings.Join(flags, " ")}
	if err := s.AddAudit(ctx, e); err != nil {
		fmt.Fprintf(stderr, "dialroom: warning: audit log: %v\n", err)
	}
}

// cliActor names who ran a CLI command: "cli:" and the system user.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

// moderationAudit records moderators' actions in meetings in the audit
// log (sfu.Config.OnModeration). Targets are display names; a phone
// caller's is its masked number.
func moderationAudit(store *dialplan.Store, log *slog.Logger) func(sfu.ModerationEvent) {
	return func(e sfu.ModerationEvent) {
		target := e.Room
		if e.Target != "" {
			target += "/" + e.Target
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := store.AddAudit(ctx, dialplan.AuditEntry{Actor: "moderator:" + e.By, Action: "meeting." + e.Action,
			Target: target, Detail: e.Detail})
		if err != nil {
			log.Warn("audit log write failed", "action", e.Action, "err", err)
		}
	}
}

// startRetention deletes audit entries and PIN failure records older than
// keep, now and then hourly; stop ends the job and waits for it.
func startRetention(store *dialplan.Store, keep time.Duration, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	t := time.NewTicker(time.Hour)
	done := make(chan struct{})
	go func() {
		defer close(done)
		store.RunRetention(ctx, keep, t.C, time.Now, log)
	}()
	return func() {
		cancel()
		t.Stop()
		<-done
	}
}
