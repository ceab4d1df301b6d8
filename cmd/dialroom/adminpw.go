package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dialroom/config"
	"dialroom/dialplan"
	"dialroom/sip"
	"dialroom/web"
)

// Files in the data directory that the web tier uses.
const (
	moderatorKeyFile = "moderator.key" // signs moderator links; created on first start
	adminTokenFile   = "admin-token"   // SHA-256 of the admin API token
)

// webConfig builds the web tier's configuration from the data directory:
// the moderator-link secret (created on first start) and the admin API.
func webConfig(dataDir string, store *dialplan.Store) (web.Config, error) {
	secret, err := web.LoadOrCreateSecret(filepath.Join(dataDir, moderatorKeyFile))
	if err != nil {
		return web.Config{}, err
	}
	return web.Config{ModSecret: secret, Admin: store, AdminTokenFile: filepath.Join(dataDir, adminTokenFile),
		AdminPasswordFile: filepath.Join(dataDir, adminPasswordFile)}, nil
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

// trunkLister shows the configured trunks in the admin console, with the
// registration state the SIP side writes to the data directory.
type trunkLister struct {
	dataDir string
	trunks  []config.Trunk
	now     func() time.Time
}

// Trunks implements web.TrunkLister.
func (l trunkLister) Trunks(ctx context.Context) ([]web.TrunkInfo, error) {
	states, err := readTrunkStates(l.dataDir)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if l.now != nil {
		now = l.now
	}
	out := make([]web.TrunkInfo, 0, len(l.trunks))
	for _, t := range l.trunks {
		ti := web.TrunkInfo{Name: t.Name, Sources: append([]string{}, t.Sources...), Auth: t.Username != "", State: "ready"}
		if t.Register != nil {
			ti.Register = t.Register.Registrar
			st, ok := states[t.Name]
			ti.State, ti.Until, ti.LastError = registrationState(st, ok, now())
		}
		out = append(out, ti)
	}
	return out, nil
}

// registrationState names a registration trunk's state for the console.
func registrationState(st sip.TrunkState, ok bool, now time.Time) (string, time.Time, string) {
	switch {
	case !ok:
		return "unknown", time.Time{}, ""
	case st.Registered && now.Before(st.Until):
		return "registered", st.Until, ""
	case st.Registered:
		return "expired", st.Until, ""
	}
	return "failed", time.Time{}, st.LastError
}

const adminPasswdUsage = `dialroom admin passwd [-user NAME] [-data DIR] [-config FILE]

Sets the user name (default admin) and password of the admin console's
login (/admin). The password is read from the first line of standard input,
never from a flag: it would show in the process list and shell history.
Only an argon2id hash is stored (in the data directory); it takes effect at
the next login, without a restart. Example:
  read -rs PW; printf '%s\n' "$PW" | dialroom admin passwd -user alice
`

// adminPasswordFile holds the console's user name and password hash.
const adminPasswordFile = "admin-password"

func runAdminPasswd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	user := "admin"
	rest := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		if (args[i] == "-user" || args[i] == "--user") && i+1 < len(args) {
			user = args[i+1]
			i++
			continue
		}
		if v, ok := strings.CutPrefix(args[i], "-user="); ok {
			user = v
			continue
		}
		rest = append(rest, args[i])
	}
	dir, _, err := dataDirFlags("admin passwd", rest)
	if err != nil {
		return err
	}
	password, err := readSecret(stdin, "password")
	if err != nil {
		return fmt.Errorf("admin passwd: %w", err)
	}
	if err := web.SetAdminPassword(filepath.Join(dir, adminPasswordFile), user, password); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "admin console password set for user %s\n", user)
	return nil
}
