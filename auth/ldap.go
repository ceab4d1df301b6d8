package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"dialroom/config"
)

// LDAP checks passwords against an LDAP server or Active Directory: bind
// as the service account, search the user by login name, read its display
// name, mail and groups, then bind as the user's DN with the password.
// Every login uses its own connection, so a slow directory holds up only
// that login.
type LDAP struct {
	cfg      config.LDAP
	password string // the service account's
	tls      *tls.Config
	roles    RoleMap
	log      *slog.Logger
}

// NewLDAP checks cfg (defaults applied) and returns the directory. It does
// not connect: a directory that is down at start-up only fails logins.
func NewLDAP(cfg config.LDAP, log *slog.Logger) (*LDAP, error) {
	cfg = cfg.WithDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("ldap: url: %w", err)
	}
	l := &LDAP{cfg: cfg, password: cfg.BindPassword, log: log,
		tls: &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}}
	if cfg.BindPasswordFile != "" {
		b, err := os.ReadFile(cfg.BindPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("ldap: bind_password_file: %w", err)
		}
		l.password = strings.TrimRight(string(b), "\r\n")
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ldap: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ldap: ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		l.tls.RootCAs = pool
	}
	if _, err := ldap.CompileFilter(cfg.UserFilter); err != nil {
		return nil, fmt.Errorf("ldap: user_filter %q: %w", cfg.UserFilter, err)
	}
	if cfg.GroupBaseDN != "" {
		if _, err := ldap.CompileFilter(strings.ReplaceAll(cfg.GroupFilter, "{dn}", "x")); err != nil {
			return nil, fmt.Errorf("ldap: group_filter %q: %w", cfg.GroupFilter, err)
		}
	}
	l.roles = RoleMap{Admin: cfg.Roles.Admin, Moderator: cfg.Roles.Moderator, Others: roleOf(cfg.Roles.Others), Equal: equalDN}
	return l, nil
}

// roleOf turns the configured "others" role into a Role.
func roleOf(s string) Role {
	if s == "none" {
		return RoleNone
	}
	return RoleUser
}

// equalDN compares two DNs as LDAP does (case and spacing do not matter),
// falling back to a case-insensitive comparison when one does not parse.
func equalDN(a, b string) bool {
	da, errA := ldap.ParseDN(a)
	db, errB := ldap.ParseDN(b)
	if errA != nil || errB != nil {
		return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
	}
	return da.EqualFold(db)
}

// errNoUser and errAmbiguous are why a search found no one to bind as.
var (
	errNoUser    = errors.New("no such user")
	errAmbiguous = errors.New("user name matches several entries")
	errNoRole    = errors.New("user is in no group that has a role")
)

// Authenticate implements Directory. The log says why a login failed
// (unknown user, wrong password, directory unreachable), never the
// password; the caller sees only ErrInvalidCredentials.
func (l *LDAP) Authenticate(ctx context.Context, user, password string) (Identity, error) {
	if !validInput(user, password) {
		l.log.Info("ldap login refused", "reason", "empty or malformed input")
		return Identity{}, ErrInvalidCredentials
	}
	id, err := l.authenticate(ctx, user, password)
	if err != nil {
		l.log.Info("ldap login refused", "user", user, "reason", reason(err))
		return Identity{}, ErrInvalidCredentials
	}
	l.log.Info("ldap login", "user", id.User, "role", string(id.Role))
	return id, nil
}

// reason names a failure for the log.
func reason(err error) string {
	switch {
	case errors.Is(err, errNoUser), errors.Is(err, errAmbiguous), errors.Is(err, errNoRole):
		return err.Error()
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials):
		// Active Directory also answers 49 for locked or expired
		// accounts; the "data NNN" part of its message says which.
		return "wrong password or account locked: " + err.Error()
	case ldap.IsErrorWithCode(err, ldap.ErrorNetwork):
		return "directory unreachable: " + err.Error()
	}
	return err.Error()
}

func (l *LDAP) authenticate(ctx context.Context, user, password string) (Identity, error) {
	conn, err := l.dial()
	if err != nil {
		return Identity{}, err
	}
	defer conn.Close()
	// go-ldap has no contexts: closing the connection ends a pending request.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	if l.cfg.BindDN != "" {
		if err := conn.Bind(l.cfg.BindDN, l.password); err != nil {
			return Identity{}, fmt.Errorf("service account bind: %w", err)
		}
	}
	entry, err := l.findUser(conn, user)
	if err != nil {
		return Identity{}, err
	}
	id := Identity{
		User:        entry.GetEqualFoldAttributeValue(l.cfg.UserAttribute),
		DisplayName: entry.GetEqualFoldAttributeValue(l.cfg.DisplayNameAttribute),
		Mail:        entry.GetEqualFoldAttributeValue(l.cfg.MailAttribute),
	}
	if id.User == "" {
		id.User = user
	}
	if l.cfg.GroupBaseDN != "" {
		// Still bound as the service account, which may read groups.
		if id.Groups, err = l.searchGroups(conn, entry.DN); err != nil {
			return Identity{}, err
		}
	} else {
		id.Groups = entry.GetEqualFoldAttributeValues(l.cfg.GroupAttribute)
	}
	if err := conn.Bind(entry.DN, password); err != nil {
		return Identity{}, err
	}
	if id.Role = l.roles.Role(id.Groups); id.Role == RoleNone {
		return Identity{}, errNoRole
	}
	return id, nil
}

// dial connects, with TLS for ldaps:// and after StartTLS when configured.
func (l *LDAP) dial() (*ldap.Conn, error) {
	d := &net.Dialer{Timeout: l.cfg.Timeout}
	conn, err := ldap.DialURL(l.cfg.URL, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(l.tls))
	if err != nil {
		return nil, err
	}
	conn.SetTimeout(l.cfg.Timeout)
	if l.cfg.StartTLS {
		if err := conn.StartTLS(l.tls); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("starttls: %w", err)
		}
	}
	return conn, nil
}

// findUser searches the one entry whose login attribute is user. The name
// is escaped, so "*" or ")(" in it match only themselves.
func (l *LDAP) findUser(conn *ldap.Conn, user string) (*ldap.Entry, error) {
	filter := l.userFilter(user)
	attrs := []string{l.cfg.UserAttribute, l.cfg.DisplayNameAttribute, l.cfg.MailAttribute}
	if l.cfg.GroupBaseDN == "" {
		attrs = append(attrs, l.cfg.GroupAttribute)
	}
	req := ldap.NewSearchRequest(l.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, int(l.cfg.Timeout.Seconds()+0.5), false, filter, attrs, nil)
	res, err := conn.Search(req)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, errAmbiguous
	}
	if err != nil {
		return nil, fmt.Errorf("search user: %w", err)
	}
	switch len(res.Entries) {
	case 0:
		return nil, errNoUser
	case 1:
		return res.Entries[0], nil
	}
	return nil, errAmbiguous
}

// userFilter is the search filter for the login name user: the configured
// filter ANDed with an equality match on the escaped name.
func (l *LDAP) userFilter(user string) string {
	return fmt.Sprintf("(&%s(%s=%s))", l.cfg.UserFilter, l.cfg.UserAttribute, ldap.EscapeFilter(user))
}

// maxGroups bounds the groups read for one user.
const maxGroups = 1000

// searchGroups returns the DNs of the groups whose filter matches dn.
func (l *LDAP) searchGroups(conn *ldap.Conn, dn string) ([]string, error) {
	filter := strings.ReplaceAll(l.cfg.GroupFilter, "{dn}", ldap.EscapeFilter(dn))
	req := ldap.NewSearchRequest(l.cfg.GroupBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		maxGroups, int(l.cfg.Timeout.Seconds()+0.5), false, filter, []string{"1.1"}, nil)
	res, err := conn.Search(req)
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, fmt.Errorf("search groups: %w", err)
	}
	if res == nil {
		return nil, nil
	}
	groups := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		groups = append(groups, e.DN)
	}
	return groups, nil
}
