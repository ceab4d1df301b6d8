package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"dialroom/dialplan"
)

// TestAdminAPIEditRoom changes a room field by field; absent fields stay and
// no answer contains a PIN.
func TestAdminAPIEditRoom(t *testing.T) {
	srv, _, token := newAdminServer(t)
	if st, body := call(t, srv, token, "POST", "/api/v1/rooms", `{"slug":"team","name":"Team","pin":"4711","lang":"de"}`); st != 201 {
		t.Fatalf("add room: %d %s", st, body)
	}
	if st, body := call(t, srv, token, "POST", "/api/v1/rooms", `{"slug":"other"}`); st != 201 {
		t.Fatalf("add room: %d %s", st, body)
	}
	if st, body := call(t, srv, token, "PATCH", "/api/v1/rooms/other", `{"dialCode":"97531"}`); st != 200 {
		t.Fatalf("other's dial code: %d %s", st, body)
	}
	tests := []struct {
		name, body string
		status     int
		contains   []string
	}{
		{"title", `{"name":"Team weekly"}`, 200, []string{`"name":"Team weekly"`, `"lang":"de"`, `"hasPin":true`, `"hasModeratorPin":false`}},
		{"language", `{"lang":"en"}`, 200, []string{`"name":"Team weekly"`, `"lang":"en"`}},
		{"bad language", `{"lang":"fr"}`, 400, []string{"invalid"}},
		{"moderator PIN", `{"moderatorPin":"8642"}`, 200, []string{`"hasPin":true`, `"hasModeratorPin":true`}},
		{"moderator PIN equal to PIN", `{"moderatorPin":"4711"}`, 400, []string{"invalid"}},
		{"new PIN", `{"pin":"135790"}`, 200, []string{`"hasPin":true`, `"hasModeratorPin":true`}},
		{"remove PIN", `{"pin":""}`, 200, []string{`"hasPin":false`, `"hasModeratorPin":false`}},
		{"unknown field", `{"colour":"red"}`, 400, []string{"bad_request"}},
		{"dial-in code", `{"dialCode":"0815"}`, 200, []string{`"dialCode":"0815"`, `"name":"Team weekly"`}},
		{"short dial-in code", `{"dialCode":"081"}`, 400, []string{"invalid", "dial-in code must be 4 to 8 digits"}},
		{"taken dial-in code", `{"dialCode":"97531"}`, 409, []string{"exists", `used by room \"other\"`}},
		{"dial-in code kept after failure", `{}`, 200, []string{`"dialCode":"0815"`}},
	}
	for _, tt := range tests {
		st, body := call(t, srv, token, "PATCH", "/api/v1/rooms/team", tt.body)
		if st != tt.status {
			t.Errorf("%s: got %d %s, want %d", tt.name, st, body, tt.status)
		}
		for _, c := range tt.contains {
			if !strings.Contains(body, c) {
				t.Errorf("%s: got %s, want it to contain %s", tt.name, body, c)
			}
		}
		for _, pin := range []string{"4711", "8642", "135790"} {
			if strings.Contains(body, pin) {
				t.Errorf("%s: answer contains a PIN", tt.name)
			}
		}
	}
	if st, _ := call(t, srv, token, "PATCH", "/api/v1/rooms/nope", `{"name":"x"}`); st != 404 {
		t.Errorf("missing room: got %d, want 404", st)
	}
	if st, _ := call(t, srv, "", "PATCH", "/api/v1/rooms/team", `{"name":"x"}`); st != 401 {
		t.Errorf("without token: got %d, want 401", st)
	}
}

// TestAdminAPISharedNumber: a shared number belongs to no room; a room without
// numbers of its own is invited through it with its dial-in code.
func TestAdminAPISharedNumber(t *testing.T) {
	srv, _, token := newAdminServer(t)
	st, body := call(t, srv, token, "POST", "/api/v1/rooms", `{"slug":"team","pin":"4711"}`)
	var rm apiRoom
	if err := json.Unmarshal([]byte(body), &rm); st != 201 || err != nil {
		t.Fatalf("add room: %d %s %v", st, body, err)
	}
	if len(rm.DialCode) != dialplan.DialCodeLen {
		t.Fatalf("dial code: got %q, want %d digits", rm.DialCode, dialplan.DialCodeLen)
	}
	if st, body := call(t, srv, token, "POST", "/api/v1/numbers", `{"number":"+49 30 999","shared":true,"room":"team"}`); st != 400 {
		t.Errorf("shared number with a room: got %d %s, want 400", st, body)
	}
	if st, body := call(t, srv, token, "POST", "/api/v1/numbers", `{"number":"+49 30 999","shared":true,"lang":"en"}`); st != 201 || !strings.Contains(body, `"shared":true`) {
		t.Errorf("add shared number: got %d %s, want 201 shared", st, body)
	}
	_, body = call(t, srv, token, "GET", "/api/v1/numbers", "")
	if want := `{"number":"+4930999","room":"","shared":true,"lang":"en"}`; !strings.Contains(body, want) {
		t.Errorf("numbers: got %s, want %s", body, want)
	}
	_, body = call(t, srv, token, "GET", "/api/v1/rooms", "")
	want := `"dialIn":"Dial in: +4930999, code ` + rm.DialCode + ` followed by #, then enter the room PIN followed by #"`
	if !strings.Contains(body, want) {
		t.Errorf("rooms: got %s, want %s", body, want)
	}
	// With a number of its own, the room's invitation uses that one.
	call(t, srv, token, "POST", "/api/v1/numbers", `{"number":"+4930111","room":"team"}`)
	_, body = call(t, srv, token, "GET", "/api/v1/rooms", "")
	if want := `"dialIn":"Dial in: +4930111, then enter`; !strings.Contains(body, want) {
		t.Errorf("rooms with own number: got %s, want %s", body, want)
	}
}

// fakeTrunks is a TrunkLister with a fixed answer.
type fakeTrunks struct {
	list []TrunkInfo
	err  error
}

func (f fakeTrunks) Trunks(context.Context) ([]TrunkInfo, error) { return f.list, f.err }

func TestAdminAPITrunks(t *testing.T) {
	until := time.Date(2026, 11, 26, 18, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		lister   TrunkLister
		status   int
		contains string
	}{
		{"none configured", nil, 200, `[]`},
		{"registered", fakeTrunks{list: []TrunkInfo{{Name: "carrier", Register: "192.0.2.1:5060", State: "registered", Until: until}}},
			200, `"name":"carrier","sources":null,"auth":false,"register":"192.0.2.1:5060","state":"registered","until":"2026-11-26T18:00:00Z"`},
		{"error", fakeTrunks{err: errors.New("disk on fire")}, 500, `"internal"`},
	}
	for _, tt := range tests {
		srv, token := newTrunkServer(t, tt.lister)
		st, body := call(t, srv, token, "GET", "/api/v1/trunks", "")
		if st != tt.status || !strings.Contains(body, tt.contains) {
			t.Errorf("%s: got %d %s, want %d containing %s", tt.name, st, body, tt.status, tt.contains)
		}
	}
}

// newTrunkServer is newAdminServer with trunks listed by l.
func newTrunkServer(t *testing.T, l TrunkLister) (*httptest.Server, string) {
	t.Helper()
	e := newTestEnv(t, func(c *Config, _ *dialplan.Store) { c.Trunks = l })
	return e.srv, e.token
}
