package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"dialroom/config"
	"dialroom/dialplan"
	"dialroom/web"
)

// Files in the data directory that the web tier uses.
const (
	moderatorKeyFile = "moderator.key" // signs moderator links; created on first start
	adminTokenFile   = "admin-token"   // SHA-256 of the admin API token
)

const adminTokenUsage = `dialroom admin token [-data DIR] [-config FILE]

Creates a new admin token for the admin console (/admin) and the JSON API
(/api/v1, "Authorization: Bearer TOKEN") and prints it once. Only its hash
is stored (in the data directory); a new token replaces the old one at once,
without a restart.
`

const adminModlinkUsage = `dialroom admin modlink SLUG [-data DIR] [-config FILE]

Prints the path of the room's moderator link (/r/SLUG?mod=TOKEN). Whoever
opens it joins as a moderator; keep it as secret as a password.
`

// webConfig builds the web tier's configuration from the data directory:
// the moderator-link secret (created on first start) and the admin API.
func webConfig(dataDir string, store *dialplan.Store) (web.Config, error) {
	secret, err := web.LoadOrCreateSecret(filepath.Join(dataDir, moderatorKeyFile))
	if err != nil {
		return web.Config{}, err
	}
	return web.Config{ModSecret: secret, Admin: store, AdminTokenFile: filepath.Join(dataDir, adminTokenFile)}, nil
}

// dataDirFlags parses -data and -config and returns the data directory.
func dataDirFlags(name string, args []string, pos ...string) (string, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var sf storeFlags
	sf.register(fs)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return "", nil, err
	}
	if err := wantArgs(fs, rest, pos...); err != nil {
		return "", nil, err
	}
	dir := sf.data
	if dir == "" {
		cfg, err := config.Load(sf.config)
		if err != nil {
			return "", nil, err
		}
		dir = cfg.DataDir
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", nil, fmt.Errorf("data dir: %w", err)
	}
	return dir, rest, nil
}

func runAdminToken(args []string, stdout, stderr io.Writer) error {
	dir, _, err := dataDirFlags("admin token", args)
	if err != nil {
		return err
	}
	token, err := web.NewAdminToken(filepath.Join(dir, adminTokenFile))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "admin token (shown only now): %s\n", token)
	return nil
}

func runAdminModlink(args []string, stdout, stderr io.Writer) error {
	dir, pos, err := dataDirFlags("admin modlink", args, "SLUG")
	if err != nil {
		return err
	}
	secret, err := web.LoadOrCreateSecret(filepath.Join(dir, moderatorKeyFile))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "/r/%s?mod=%s\n", pos[0], web.ModeratorToken(secret, pos[0]))
	return nil
}
