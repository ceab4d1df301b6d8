package auth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"dialroom/config"
)

// logBuffer collects a logger's output safely across goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testLDAPConfig(s *slapd) config.LDAP {
	return config.LDAP{
		URL: s.URL, BindDN: testSvcDN, BindPassword: testSvcPW, BaseDN: testPeople,
		UserFilter: "(objectClass=inetOrgPerson)", Timeout: 5 * time.Second,
		Roles: config.Roles{Admin: []string{testAdmins}, Moderator: []string{testMods}},
	}
}

func newTestLDAP(t *testing.T, cfg config.LDAP) (*LDAP, *logBuffer) {
	t.Helper()
	var logs logBuffer
	l, err := NewLDAP(cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	return l, &logs
}

// TestLDAP logs in against a real slapd: roles from groups (read from
// memberOf and found by a group search), wrong passwords, unknown users,
// filter injection, TLS, and a directory that is down.
func TestLDAP(t *testing.T) {
	s := startSlapd(t)
	ctx := context.Background()
	base := runtime.NumGoroutine()

	groupModes := map[string]func(*config.LDAP){
		"group search": func(c *config.LDAP) { c.GroupBaseDN = testGroups; c.GroupFilter = "(member={dn})" },
	}
	if s.MemberOf {
		groupModes["memberOf"] = func(c *config.LDAP) {}
	} else {
		t.Log("memberof overlay not installed: testing group search only")
	}
	tests := []struct {
		name, user, password string
		others               string
		wantRole             Role
		wantLog              string // "" for a successful login
	}{
		{"admin", "alice", testUsers["alice"], "", RoleAdmin, ""},
		{"moderator", "bob", testUsers["bob"], "", RoleModerator, ""},
		{"unmapped group is a user", "carol", testUsers["carol"], "user", RoleUser, ""},
		{"unmapped group refused", "carol", testUsers["carol"], "none", RoleNone, "reason=\"user is in no group that has a role\""},
		{"wrong password", "alice", "not-her-password", "", RoleNone, "wrong password"},
		{"unknown user", "mallory", testUsers["alice"], "", RoleNone, "no such user"},
		{"empty password", "alice", "", "", RoleNone, "empty or malformed input"},
		{"injection closes the filter", "*)(uid=*", testUsers["alice"], "", RoleNone, "no such user"},
		{"injection wildcard", "al*", testUsers["alice"], "", RoleNone, "no such user"},
		{"wildcard", "*", testUsers["alice"], "", RoleNone, "no such user"},
		{"case of the name", "ALICE", testUsers["alice"], "", RoleAdmin, ""},
	}
	for mode, set := range groupModes {
		for _, tt := range tests {
			cfg := testLDAPConfig(s)
			set(&cfg)
			cfg.Roles.Others = tt.others
			l, logs := newTestLDAP(t, cfg)
			id, err := l.Authenticate(ctx, tt.user, tt.password)
			if tt.wantLog == "" {
				if err != nil || id.Role != tt.wantRole {
					t.Errorf("%s/%s: got %+v, %v; want role %q\nlog: %s", mode, tt.name, id, err, tt.wantRole, logs)
				}
				continue
			}
			if !errors.Is(err, ErrInvalidCredentials) || err != ErrInvalidCredentials {
				t.Errorf("%s/%s: got %+v, %v; want exactly ErrInvalidCredentials", mode, tt.name, id, err)
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("%s/%s: log %q does not say %q", mode, tt.name, logs, tt.wantLog)
			}
			if tt.password != "" && strings.Contains(logs.String(), tt.password) {
				t.Errorf("%s/%s: the password is in the log: %s", mode, tt.name, logs)
			}
		}
	}

	t.Run("identity", func(t *testing.T) {
		l, _ := newTestLDAP(t, testLDAPConfig(s))
		id, err := l.Authenticate(ctx, "bob", testUsers["bob"])
		if err != nil {
			t.Fatal(err)
		}
		if id.User != "bob" || id.DisplayName != "Bob Example" || id.Mail != "bob@example.com" || len(id.Groups) != 2 && s.MemberOf {
			t.Errorf("got %+v, want bob, Bob Example, bob@example.com and two groups", id)
		}
	})

	tlsTests := []struct {
		name string
		set  func(*config.LDAP)
		ok   bool
	}{
		{"starttls", func(c *config.LDAP) { c.StartTLS, c.CAFile = true, s.CAFile }, true},
		{"ldaps", func(c *config.LDAP) { c.URL, c.CAFile = s.TLSURL, s.CAFile }, true},
		{"starttls untrusted certificate", func(c *config.LDAP) { c.StartTLS = true }, false},
		{"ldaps untrusted certificate", func(c *config.LDAP) { c.URL = s.TLSURL }, false},
	}
	for _, tt := range tlsTests {
		cfg := testLDAPConfig(s)
		tt.set(&cfg)
		l, logs := newTestLDAP(t, cfg)
		id, err := l.Authenticate(ctx, "alice", testUsers["alice"])
		if tt.ok && (err != nil || id.Role != RoleAdmin) {
			t.Errorf("%s: got %+v, %v; want alice as admin\nlog: %s", tt.name, id, err, logs)
		}
		if !tt.ok && err != ErrInvalidCredentials {
			t.Errorf("%s: got %+v, %v; want ErrInvalidCredentials", tt.name, id, err)
		}
	}

	t.Run("wrong service password", func(t *testing.T) {
		cfg := testLDAPConfig(s)
		cfg.BindPassword = "wrong"
		l, logs := newTestLDAP(t, cfg)
		if _, err := l.Authenticate(ctx, "alice", testUsers["alice"]); err != ErrInvalidCredentials {
			t.Errorf("got %v, want ErrInvalidCredentials", err)
		}
		if !strings.Contains(logs.String(), "service account bind") {
			t.Errorf("log %q does not name the service account", logs)
		}
	})

	// Every login closes its connection: go-ldap's reader goroutines end.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: got %d, want <= %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}

	t.Run("directory down", func(t *testing.T) {
		l, logs := newTestLDAP(t, testLDAPConfig(s))
		s.stop()
		if _, err := l.Authenticate(ctx, "alice", testUsers["alice"]); err != ErrInvalidCredentials {
			t.Errorf("got %v, want ErrInvalidCredentials", err)
		}
		if !strings.Contains(logs.String(), "directory unreachable") {
			t.Errorf("log %q does not say the directory is unreachable", logs)
		}
	})
}

func TestNewLDAPRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.LDAP
		want string
	}{
		{"bad filter", config.LDAP{URL: "ldap://127.0.0.1", BaseDN: "dc=x", UserFilter: "(&(objectClass=person)"}, "user_filter"},
		{"missing CA file", config.LDAP{URL: "ldap://127.0.0.1", BaseDN: "dc=x", CAFile: "/nonexistent/ca.pem"}, "ca_file"},
		{"missing password file", config.LDAP{URL: "ldap://127.0.0.1", BaseDN: "dc=x", BindPasswordFile: "/nonexistent/pw"}, "bind_password_file"},
	}
	for _, tt := range tests {
		if _, err := NewLDAP(tt.cfg, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error about %s", tt.name, err, tt.want)
		}
	}
}

// TestLDAPStalledDirectory: a server that accepts and never answers costs
// a login at most the configured timeout, or less when the caller gives up.
func TestLDAPStalledDirectory(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	cfg := config.LDAP{URL: "ldap://" + ln.Addr().String(), BindDN: "cn=x", BindPassword: "y", BaseDN: "dc=x"}
	tests := []struct {
		name     string
		timeout  time.Duration
		ctxAfter time.Duration
	}{
		{"request timeout", 300 * time.Millisecond, time.Minute},
		{"caller gives up", 30 * time.Second, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		c := cfg
		c.Timeout = tt.timeout
		l, logs := newTestLDAP(t, c)
		ctx, cancel := context.WithTimeout(context.Background(), tt.ctxAfter)
		start := time.Now()
		_, err := l.Authenticate(ctx, "alice", "pw")
		took := time.Since(start)
		cancel()
		if err != ErrInvalidCredentials || took > 5*time.Second {
			t.Errorf("%s: got %v after %v, want ErrInvalidCredentials within 5s\nlog: %s", tt.name, err, took, logs)
		}
	}
}
