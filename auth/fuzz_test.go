package auth

import (
	"testing"

	"github.com/go-ldap/ldap/v3"

	"dialroom/config"
)

// FuzzUserFilter: whatever a person types as user name, the search filter
// stays the configured filter AND one equality match whose value is the
// name itself: no wildcard, no extra clause.
func FuzzUserFilter(f *testing.F) {
	for _, s := range []string{"alice", "*", "*)(uid=*", "al*", `\2a`, "a)(|(uid=*", "\x00", "ü"} {
		f.Add(s)
	}
	l, err := NewLDAP(config.LDAP{URL: "ldap://127.0.0.1", BaseDN: "dc=x", UserFilter: "(objectClass=person)"}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, user string) {
		p, err := ldap.CompileFilter(l.userFilter(user))
		if err != nil {
			t.Fatalf("filter for %q does not compile: %v", user, err)
		}
		if p.Tag != ldap.FilterAnd || len(p.Children) != 2 {
			t.Fatalf("filter for %q: got %d clauses (tag %d), want an AND of two", user, len(p.Children), p.Tag)
		}
		eq := p.Children[1]
		if eq.Tag != ldap.FilterEqualityMatch || len(eq.Children) != 2 {
			t.Fatalf("filter for %q: second clause has tag %d, want an equality match", user, eq.Tag)
		}
		if got := eq.Children[1].Data.String(); got != user {
			t.Fatalf("filter for %q matches %q", user, got)
		}
	})
}
