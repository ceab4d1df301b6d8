package dialplan

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTrunkCRUD(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v0, err := s.TrunksVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in := StoredTrunk{Name: "carrier", Sources: []string{" 192.0.2.0/24", "2001:db8::1"}, Username: "u",
		Password: "secret", MaxCalls: 5, MaxDuration: time.Hour, SRTP: "required"}
	if _, err := s.AddTrunk(ctx, in); err != nil {
		t.Fatalf("add: %v", err)
	}
	if _, err := s.AddTrunk(ctx, in); !errors.Is(err, ErrExists) {
		t.Errorf("add twice: got %v, want ErrExists", err)
	}
	got, err := s.Trunk(ctx, "carrier")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Sources, ",") != "192.0.2.0/24,2001:db8::1" || got.Password != "secret" ||
		got.MaxCalls != 5 || got.MaxDuration != time.Hour || got.SRTP != "required" || got.Register != nil {
		t.Errorf("stored trunk: got %+v", got)
	}
	v1, _ := s.TrunksVersion(ctx)
	if v1 == v0 {
		t.Errorf("version did not change on add: %d", v1)
	}
	for _, f := range []string{DBFile, DBFile + "-wal"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode: got %v, want 0600", f, fi.Mode().Perm())
		}
	}

	reg := TrunkRegistration{Registrar: "sip.example.net:5060", Username: "acct", Password: "regpw", Expires: 10 * time.Minute}
	none := ""
	if _, err := s.UpdateTrunk(ctx, "carrier", TrunkChange{Register: &reg, Username: &none}); err != nil {
		t.Fatalf("update: %v", err)
	}
	reg.Password = "" // keeps the stored one
	calls := 9
	got, err = s.UpdateTrunk(ctx, "carrier", TrunkChange{Register: &reg, MaxCalls: &calls})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if got.Username != "" || got.Password != "" || got.Register == nil || got.Register.Password != "regpw" || got.MaxCalls != 9 {
		t.Errorf("updated trunk: got %+v / %+v", got, got.Register)
	}
	list, err := s.Trunks(ctx)
	if err != nil || len(list) != 1 || list[0].Register == nil || list[0].Register.Expires != 10*time.Minute {
		t.Errorf("list: got %+v, %v", list, err)
	}
	if _, err := s.UpdateTrunk(ctx, "nope", TrunkChange{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("update missing: got %v, want ErrNotFound", err)
	}
	if err := s.RemoveTrunk(ctx, "carrier"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveTrunk(ctx, "carrier"); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove twice: got %v, want ErrNotFound", err)
	}
	v2, _ := s.TrunksVersion(ctx)
	if v2 <= v1 {
		t.Errorf("version after remove: got %d, want > %d", v2, v1)
	}
}

func TestValidateTrunk(t *testing.T) {
	reg := &TrunkRegistration{Registrar: "reg.example:5060", Username: "a", Password: "p"}
	tests := []struct {
		name string
		t    StoredTrunk
		ok   bool
	}{
		{"ip trunk", StoredTrunk{Name: "a", Sources: []string{"10.0.0.1"}}, true},
		{"digest only", StoredTrunk{Name: "a", Username: "u", Password: "p"}, true},
		{"registration", StoredTrunk{Name: "a", Register: reg}, true},
		{"empty name", StoredTrunk{Sources: []string{"10.0.0.1"}}, false},
		{"reserved", StoredTrunk{Name: "loopback", Sources: []string{"10.0.0.1"}}, false},
		{"bad name", StoredTrunk{Name: "a b", Sources: []string{"10.0.0.1"}}, false},
		{"nothing", StoredTrunk{Name: "a"}, false},
		{"bad source", StoredTrunk{Name: "a", Sources: []string{"example.com"}}, false},
		{"user no password", StoredTrunk{Name: "a", Username: "u"}, false},
		{"password no user", StoredTrunk{Name: "a", Sources: []string{"10.0.0.1"}, Password: "p"}, false},
		{"negative calls", StoredTrunk{Name: "a", Sources: []string{"10.0.0.1"}, MaxCalls: -1}, false},
		{"bad srtp", StoredTrunk{Name: "a", Sources: []string{"10.0.0.1"}, SRTP: "maybe"}, false},
		{"space in password", StoredTrunk{Name: "a", Username: "u", Password: "p w"}, false},
		{"reg no password", StoredTrunk{Name: "a", Register: &TrunkRegistration{Registrar: "r", Username: "a"}}, false},
		{"reg bad port", StoredTrunk{Name: "a", Register: &TrunkRegistration{Registrar: "r:0", Username: "a", Password: "p"}}, false},
		{"reg bad transport", StoredTrunk{Name: "a", Register: &TrunkRegistration{Registrar: "r", Username: "a", Password: "p", Transport: "sctp"}}, false},
	}
	for _, tt := range tests {
		err := ValidateTrunk(tt.t)
		if (err == nil) != tt.ok {
			t.Errorf("%s: got %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", tt.name, err)
		}
		if err != nil && strings.Contains(err.Error(), "p w") {
			t.Errorf("%s: error shows the password: %v", tt.name, err)
		}
	}
}

// FuzzValidateTrunk feeds outside input (CLI flags, API bodies) to the
// trunk validation: it must answer, never panic.
func FuzzValidateTrunk(f *testing.F) {
	f.Add("carrier", "192.0.2.0/24,::1", "u", "p", "reg.example:5060", "udp")
	f.Add("x", "1.2.3.4/99", "", "", "[::1]:70000", "tls")
	f.Fuzz(func(t *testing.T, name, srcs, user, pw, registrar, transport string) {
		tr := StoredTrunk{Name: name, Sources: strings.Split(srcs, ","), Username: user, Password: pw}
		if registrar != "" {
			tr.Register = &TrunkRegistration{Registrar: registrar, Transport: transport, Username: user, Password: pw}
		}
		if err := ValidateTrunk(tr); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("got %v, want ErrInvalid", err)
		}
	})
}
