package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

const versionUsage = `dialroom version

Prints the program version and how it was built: Go version, platform,
source revision and time, and whether the tree had local changes.
`

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	fmt.Fprint(stdout, versionText(debug.ReadBuildInfo()))
	return nil
}

// versionText formats the version and the build settings worth knowing
// when a bug report comes in.
func versionText(bi *debug.BuildInfo, ok bool) string {
	s := fmt.Sprintf("dialroom %s\n", version)
	goVersion := runtime.Version()
	settings := map[string]string{}
	if ok {
		goVersion = bi.GoVersion
		for _, kv := range bi.Settings {
			settings[kv.Key] = kv.Value
		}
	}
	s += fmt.Sprintf("  go:       %s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
	rev := settings["vcs.revision"]
	if rev == "" {
		rev = "unknown"
	}
	if settings["vcs.modified"] == "true" {
		rev += " (modified)"
	}
	s += fmt.Sprintf("  revision: %s\n", rev)
	if t := settings["vcs.time"]; t != "" {
		s += fmt.Sprintf("  built:    from a commit of %s\n", t)
	}
	return s
}
