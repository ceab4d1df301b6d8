package web

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"dialroom/dialplan"
)

// Admin API changes land in the audit log, which GET /api/v1/audit lists:
// who (the token), what, which target, when; no PIN, no full number.
func TestAdminAPIAudit(t *testing.T) {
	srv, _, token := newAdminServer(t)
	steps := []struct{ method, path, body string }{
		{"POST", "/api/v1/rooms", `{"slug":"team","pin":"4711"}`},
		{"PATCH", "/api/v1/rooms/team", `{"pin":"8642","name":"Team"}`},
		{"POST", "/api/v1/numbers", `{"number":"+49 30 1234567","room":"team"}`},
		{"DELETE", "/api/v1/numbers/" + url.PathEscape("+49301234567"), ""},
		{"DELETE", "/api/v1/rooms/team", ""},
		{"POST", "/api/v1/rooms", `{"slug":"Bad Slug"}`}, // refused: not audited
	}
	for _, st := range steps {
		call(t, srv, token, st.method, st.path, st.body)
	}
	if code, _ := call(t, srv, "", "GET", "/api/v1/audit", ""); code != 401 {
		t.Errorf("audit without token: %d, want 401", code)
	}
	code, body := call(t, srv, token, "GET", "/api/v1/audit?since=1h", "")
	if code != 200 {
		t.Fatalf("GET /api/v1/audit: %d %s", code, body)
	}
	var got []dialplan.AuditEntry
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	want := []struct{ action, target, detail string }{
		{"room.add", "team", "with pin"},
		{"room.update", "team", "name,pin"},
		{"number.add", "+49 30 ••• 567", "room team"},
		{"number.remove", "+49 30 ••• 567", ""},
		{"room.remove", "team", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Action != w.action || g.Target != w.target || g.Detail != w.detail || g.Actor != "token:default" {
			t.Errorf("entry %d: got %+v, want token:default %s %s %q", i, g, w.action, w.target, w.detail)
		}
		if time.Since(g.At) > time.Hour || g.At.After(time.Now().Add(time.Minute)) {
			t.Errorf("entry %d at %v, want about now", i, g.At)
		}
	}
	for _, secret := range []string{"4711", "8642", "1234567"} {
		if strings.Contains(body, secret) {
			t.Errorf("audit log holds %q: %s", secret, body)
		}
	}
	if code, body := call(t, srv, token, "GET", "/api/v1/audit?since=yesterday", ""); code != 400 {
		t.Errorf("bad since: %d %s, want 400", code, body)
	}
	if code, body := call(t, srv, token, "GET", "/api/v1/audit?limit=2", ""); code != 200 || strings.Count(body, `"action"`) != 2 {
		t.Errorf("limit=2: %d %s, want the 2 newest", code, body)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"", now.Add(-30 * 24 * time.Hour), false},
		{"24h", now.Add(-24 * time.Hour), false},
		{"2026-02-01T00:00:00Z", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), false},
		{"-5h", time.Time{}, true},
		{"soon", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := parseSince(tt.in, now)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
