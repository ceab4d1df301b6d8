package dialplan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// StoredTrunk is a SIP trunk added by the CLI or the admin API. Trunks of
// the configuration file are not stored here; callers refuse a stored
// trunk whose name a configured one already uses.
type StoredTrunk struct {
	Name     string
	Sources  []string // IP addresses or CIDR prefixes its requests come from
	Username string   // digest user every new INVITE must answer (407); "" = none
	Password string   // digest password; never shown
	MaxCalls int      // concurrent calls; 0 = no limit
	// MaxDuration ends calls after this long; 0 = no limit. Whole seconds.
	MaxDuration time.Duration
	SRTP        string             // "", "optional", "required" or "off"
	Register    *TrunkRegistration // nil for an IP trunk
	Updated     time.Time
}

// TrunkRegistration makes the server register with a carrier's registrar.
type TrunkRegistration struct {
	Registrar string        // host[:port]
	Transport string        // "", "udp", "tcp" or "tls"
	Username  string        // address-of-record user and digest user
	Password  string        // digest password; never shown
	Domain    string        // address-of-record domain; "" = the registrar's host
	Expires   time.Duration // lifetime asked for; 0 = default. Whole seconds.
}

// TrunkChange is a partial update of a stored trunk: nil fields stay as
// they are. A Register without a Password keeps the stored registration
// password; NoRegister turns a registration trunk into an IP trunk.
type TrunkChange struct {
	Sources     *[]string
	Username    *string // "" removes the digest challenge (and the password)
	Password    *string
	MaxCalls    *int
	MaxDuration *time.Duration
	SRTP        *string
	Register    *TrunkRegistration
	NoRegister  bool
}

// Limits on stored trunks, so that bad input is refused clearly.
const (
	maxTrunkName    = 64
	maxTrunkSources = 64
	maxTrunkText    = 128 // user names, passwords, registrar, domain
)

// ValidateTrunk checks a trunk before it is stored. Messages never contain
// a password.
func ValidateTrunk(t StoredTrunk) error {
	if err := validTrunkName(t.Name); err != nil {
		return err
	}
	if _, err := ParseTrunkSources(t.Sources); err != nil {
		return err
	}
	switch {
	case len(t.Sources) == 0 && t.Username == "" && t.Register == nil:
		return invalidf("trunk %s: needs sources, a digest user or a registration", t.Name)
	case t.Username != "" && t.Password == "":
		return invalidf("trunk %s: a digest user needs a password", t.Name)
	case t.Username == "" && t.Password != "":
		return invalidf("trunk %s: a digest password needs a user", t.Name)
	case t.MaxCalls < 0 || t.MaxCalls > 100000:
		return invalidf("trunk %s: max calls %d is not between 0 and 100000", t.Name, t.MaxCalls)
	case t.MaxDuration < 0 || t.MaxDuration%time.Second != 0:
		return invalidf("trunk %s: max duration must be whole seconds, not negative", t.Name)
	}
	switch t.SRTP {
	case "", "optional", "required", "off":
	default:
		return invalidf("trunk %s: srtp %q is not optional, required or off", t.Name, t.SRTP)
	}
	if err := validText("digest user", t.Username); err != nil {
		return invalidf("trunk %s: %v", t.Name, err)
	}
	if err := validText("digest password", t.Password); err != nil {
		return invalidf("trunk %s: %v", t.Name, err)
	}
	if r := t.Register; r != nil {
		if err := validRegistration(*r); err != nil {
			return invalidf("trunk %s: registration: %v", t.Name, err)
		}
	}
	return nil
}

func validTrunkName(name string) error {
	switch {
	case name == "":
		return invalidf("trunk name must not be empty")
	case len(name) > maxTrunkName:
		return invalidf("trunk name is longer than %d characters", maxTrunkName)
	case name == "loopback":
		return invalidf("trunk name %q is reserved", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return invalidf("trunk name %q: use letters, digits, '-', '_' and '.'", name)
		}
	}
	return nil
}

func validRegistration(r TrunkRegistration) error {
	switch {
	case r.Registrar == "":
		return errors.New("needs a registrar")
	case r.Username == "":
		return errors.New("needs a user")
	case r.Password == "":
		return errors.New("needs a password")
	case r.Expires < 0 || r.Expires%time.Second != 0:
		return errors.New("expires must be whole seconds, not negative")
	}
	switch r.Transport {
	case "", "udp", "tcp", "tls":
	default:
		return fmt.Errorf("transport %q is not udp, tcp or tls", r.Transport)
	}
	host := r.Registrar
	if h, p, err := net.SplitHostPort(r.Registrar); err == nil {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("registrar %q: bad port", r.Registrar)
		}
		host = h
	}
	if host == "" || strings.ContainsAny(host, " /@;?") {
		return fmt.Errorf("registrar %q is not host[:port]", r.Registrar)
	}
	for _, f := range []struct{ what, v string }{{"registrar", r.Registrar}, {"user", r.Username},
		{"password", r.Password}, {"domain", r.Domain}} {
		if err := validText(f.what, f.v); err != nil {
			return err
		}
	}
	return nil
}

// validText refuses overlong values and control characters or spaces,
// which could break a SIP header. It never repeats the value.
func validText(what, v string) error {
	if len(v) > maxTrunkText {
		return fmt.Errorf("%s is longer than %d bytes", what, maxTrunkText)
	}
	for _, r := range v {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == unicode.ReplacementChar {
			return fmt.Errorf("%s must not contain spaces or control characters", what)
		}
	}
	return nil
}

// ParseTrunkSources parses trunk sources, each an IP address or a CIDR
// prefix.
func ParseTrunkSources(srcs []string) ([]netip.Prefix, error) {
	if len(srcs) > maxTrunkSources {
		return nil, invalidf("more than %d trunk sources", maxTrunkSources)
	}
	out := make([]netip.Prefix, 0, len(srcs))
	for _, s := range srcs {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil || ip.Zone() != "" {
			return nil, invalidf("trunk source %.64q is neither an IP address nor a CIDR prefix", s)
		}
		ip = ip.Unmap()
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out, nil
}

// normalizeSources trims each source.
func normalizeSources(srcs []string) []string {
	out := make([]string, 0, len(srcs))
	for _, s := range srcs {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

const trunkColumns = `name, sources, username, password, max_calls, max_duration, srtp,
	reg_registrar, reg_transport, reg_username, reg_password, reg_domain, reg_expires, updated_at`

// AddTrunk stores a new trunk.
func (s *Store) AddTrunk(ctx context.Context, t StoredTrunk) (StoredTrunk, error) {
	t.Sources = normalizeSources(t.Sources)
	if err := ValidateTrunk(t); err != nil {
		return StoredTrunk{}, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return StoredTrunk{}, fmt.Errorf("dialplan: add trunk: %w", err)
	}
	defer tx.Rollback()
	if _, err := getTrunk(ctx, tx, t.Name); err == nil {
		return StoredTrunk{}, existsf("trunk %s already exists", t.Name)
	} else if !errors.Is(err, ErrNotFound) {
		return StoredTrunk{}, err
	}
	t.Updated = time.Now()
	if err := putTrunk(ctx, tx, t); err != nil {
		return StoredTrunk{}, fmt.Errorf("dialplan: add trunk: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return StoredTrunk{}, fmt.Errorf("dialplan: add trunk: %w", err)
	}
	s.protectSecrets(ctx)
	return t, nil
}

// UpdateTrunk applies c to the stored trunk name and returns the result.
func (s *Store) UpdateTrunk(ctx context.Context, name string, c TrunkChange) (StoredTrunk, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return StoredTrunk{}, fmt.Errorf("dialplan: update trunk: %w", err)
	}
	defer tx.Rollback()
	t, err := getTrunk(ctx, tx, name)
	if err != nil {
		return StoredTrunk{}, err
	}
	t = c.apply(t)
	if err := ValidateTrunk(t); err != nil {
		return StoredTrunk{}, err
	}
	t.Updated = time.Now()
	if err := putTrunk(ctx, tx, t); err != nil {
		return StoredTrunk{}, fmt.Errorf("dialplan: update trunk: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return StoredTrunk{}, fmt.Errorf("dialplan: update trunk: %w", err)
	}
	s.protectSecrets(ctx)
	return t, nil
}

func (c TrunkChange) apply(t StoredTrunk) StoredTrunk {
	if c.Sources != nil {
		t.Sources = normalizeSources(*c.Sources)
	}
	if c.Username != nil {
		t.Username = *c.Username
		if t.Username == "" {
			t.Password = ""
		}
	}
	if c.Password != nil {
		t.Password = *c.Password
	}
	if c.MaxCalls != nil {
		t.MaxCalls = *c.MaxCalls
	}
	if c.MaxDuration != nil {
		t.MaxDuration = *c.MaxDuration
	}
	if c.SRTP != nil {
		t.SRTP = *c.SRTP
	}
	if c.NoRegister {
		t.Register = nil
	}
	if c.Register != nil {
		r := *c.Register
		if r.Password == "" && t.Register != nil {
			r.Password = t.Register.Password
		}
		t.Register = &r
	}
	return t
}

// RemoveTrunk deletes the stored trunk name.
func (s *Store) RemoveTrunk(ctx context.Context, name string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("dialplan: remove trunk: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM trunks WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("dialplan: remove trunk: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFoundf("trunk %.64q not found", name)
	}
	if err := bumpTrunks(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("dialplan: remove trunk: %w", err)
	}
	return nil
}

// Trunk returns the stored trunk name.
func (s *Store) Trunk(ctx context.Context, name string) (StoredTrunk, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return StoredTrunk{}, fmt.Errorf("dialplan: trunk: %w", err)
	}
	defer tx.Rollback()
	return getTrunk(ctx, tx, name)
}

// Trunks returns every stored trunk, ordered by name.
func (s *Store) Trunks(ctx context.Context) ([]StoredTrunk, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+trunkColumns+` FROM trunks ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("dialplan: list trunks: %w", err)
	}
	defer rows.Close()
	var out []StoredTrunk
	for rows.Next() {
		t, err := scanTrunk(rows)
		if err != nil {
			return nil, fmt.Errorf("dialplan: list trunks: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dialplan: list trunks: %w", err)
	}
	return out, nil
}

// TrunksVersion changes whenever a stored trunk is added, changed or
// removed (by any process): a running server polls it to reload its trunks.
func (s *Store) TrunksVersion(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT n FROM trunks_version`).Scan(&n); err != nil {
		return 0, fmt.Errorf("dialplan: trunks version: %w", err)
	}
	return n, nil
}

func scanTrunk(row scanner) (StoredTrunk, error) {
	var t StoredTrunk
	var srcs string
	var maxDur, regExp, updated int64
	var r TrunkRegistration
	if err := row.Scan(&t.Name, &srcs, &t.Username, &t.Password, &t.MaxCalls, &maxDur, &t.SRTP,
		&r.Registrar, &r.Transport, &r.Username, &r.Password, &r.Domain, &regExp, &updated); err != nil {
		return StoredTrunk{}, err
	}
	if srcs != "" {
		t.Sources = strings.Split(srcs, ",")
	}
	t.MaxDuration = time.Duration(maxDur) * time.Second
	if r.Registrar != "" {
		r.Expires = time.Duration(regExp) * time.Second
		t.Register = &r
	}
	t.Updated = time.UnixMilli(updated)
	return t, nil
}

func getTrunk(ctx context.Context, tx *sql.Tx, name string) (StoredTrunk, error) {
	t, err := scanTrunk(tx.QueryRowContext(ctx, `SELECT `+trunkColumns+` FROM trunks WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return StoredTrunk{}, notFoundf("trunk %.64q not found", name)
	}
	if err != nil {
		return StoredTrunk{}, fmt.Errorf("dialplan: trunk: %w", err)
	}
	return t, nil
}

// putTrunk inserts or replaces t and counts the change.
func putTrunk(ctx context.Context, tx *sql.Tx, t StoredTrunk) error {
	var r TrunkRegistration
	if t.Register != nil {
		r = *t.Register
	}
	_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO trunks (`+trunkColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Name, strings.Join(t.Sources, ","), t.Username, t.Password, t.MaxCalls,
		int64(t.MaxDuration/time.Second), t.SRTP, r.Registrar, r.Transport, r.Username,
		r.Password, r.Domain, int64(r.Expires/time.Second), t.Updated.UnixMilli())
	if err != nil {
		return err
	}
	return bumpTrunks(ctx, tx)
}

func bumpTrunks(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `UPDATE trunks_version SET n = n + 1`); err != nil {
		return fmt.Errorf("dialplan: trunks version: %w", err)
	}
	return nil
}

// protectSecrets makes the database files readable by their owner only,
// now that they hold trunk passwords. Best effort: a file that cannot be
// changed (another owner) keeps its mode, as the data directory (0750)
// still guards it.
func (s *Store) protectSecrets(ctx context.Context) {
	var seq int
	var name, file string
	if err := s.db.QueryRowContext(ctx, `PRAGMA database_list`).Scan(&seq, &name, &file); err != nil || file == "" {
		return
	}
	for _, f := range []string{file, file + "-wal", file + "-shm"} {
		if fi, err := os.Stat(f); err == nil && fi.Mode().Perm()&0o077 != 0 {
			_ = os.Chmod(f, 0o600)
		}
	}
}
