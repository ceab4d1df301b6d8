package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"dialroom/dialplan"
	"dialroom/sfu"
)

// newAdminServer starts the web handler with a real store in a temporary
// data directory and returns it with a valid admin token.
func newAdminServer(t *testing.T) (*httptest.Server, *sfu.Manager, string) {
	t.Helper()
	e := newTestEnv(t, func(c *Config, _ *dialplan.Store) { c.ModSecret = testSecret })
	return e.srv, e.mgr, e.token
}

// call does one API request and returns the status and body.
func call(t *testing.T, srv *httptest.Server, token, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminAPI(t *testing.T) {
	srv, _, token := newAdminServer(t)
	tests := []struct {
		name, token, method, path, body string
		status                          int
		contains                        string
	}{
		{"no token", "", "GET", "/api/v1/rooms", "", 401, "unauthorized"},
		{"wrong token", "dra_wrong", "GET", "/api/v1/rooms", "", 401, "unauthorized"},
		{"empty list", token, "GET", "/api/v1/rooms", "", 200, "[]"},
		{"add room", token, "POST", "/api/v1/rooms", `{"slug":"team","name":"Team","pin":"4711","lang":"en"}`, 201, `"moderatorPath":"/r/team?mod=`},
		{"duplicate", token, "POST", "/api/v1/rooms", `{"slug":"team"}`, 409, "exists"},
		{"bad slug", token, "POST", "/api/v1/rooms", `{"slug":"Bad Slug"}`, 400, "invalid"},
		{"unknown field", token, "POST", "/api/v1/rooms", `{"slug":"x","color":"red"}`, 400, "bad_request"},
		{"not json", token, "POST", "/api/v1/rooms", `slug=x`, 400, "bad_request"},
		{"assign number", token, "POST", "/api/v1/numbers", `{"number":"+49 30 1234567","room":"team"}`, 201, `"+49301234567"`},
		{"number to missing room", token, "POST", "/api/v1/numbers", `{"number":"+49301234568","room":"nope"}`, 404, "not_found"},
		{"list numbers", token, "GET", "/api/v1/numbers", "", 200, `{"number":"+49301234567","room":"team"}`},
		{"room shows number", token, "GET", "/api/v1/rooms", "", 200, `"dialIn":"Dial in: +49301234567, then enter the room PIN followed by #"`},
		{"unassign", token, "DELETE", "/api/v1/numbers/+49301234567", "", 204, ""},
		{"unassign again", token, "DELETE", "/api/v1/numbers/+49301234567", "", 404, "not_found"},
		{"live empty", token, "GET", "/api/v1/live", "", 200, "[]"},
		{"end idle room", token, "POST", "/api/v1/live/team/end", "", 404, "not_found"},
		{"delete room", token, "DELETE", "/api/v1/rooms/team", "", 204, ""},
		{"delete missing", token, "DELETE", "/api/v1/rooms/team", "", 404, "not_found"},
	}
	for _, tt := range tests {
		status, body := call(t, srv, tt.token, tt.method, tt.path, tt.body)
		if status != tt.status || !strings.Contains(body, tt.contains) {
			t.Errorf("%s: got %d %s, want %d containing %q", tt.name, status, body, tt.status, tt.contains)
		}
		if strings.Contains(body, "4711") {
			t.Errorf("%s: response contains the PIN", tt.name)
		}
	}
}

func TestAdminLive(t *testing.T) {
	srv, mgr, token := newAdminServer(t)
	if st, body := call(t, srv, token, "POST", "/api/v1/rooms", `{"slug":"demo"}`); st != 201 {
		t.Fatalf("add room: %d %s", st, body)
	}
	c, _, err := dialWS(t, srv.URL, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.send(joinMsg{Type: "join", Room: "demo", Name: "Ann"})
	joined := c.next("joined")
	owner := &fakePhoneOwner{removed: make(chan struct{}, 1)}
	phone, err := mgr.Room("demo").AddPhone(sfu.PhoneInfo{ID: "phone-1", Label: "+49 *** 67", Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	owner.phone = phone
	st, body := call(t, srv, token, "GET", "/api/v1/live", "")
	var live []apiLiveRoom
	if err := json.Unmarshal([]byte(body), &live); st != 200 || err != nil {
		t.Fatalf("live: %d %s %v", st, body, err)
	}
	if len(live) != 1 || live[0].Slug != "demo" || live[0].Web != 1 || live[0].Phone != 1 {
		t.Errorf("live: got %+v, want demo with 1 web and 1 phone participant", live)
	}
	if st, body := call(t, srv, token, "POST", "/api/v1/live/demo/participants/phone-1/remove", ""); st != 204 {
		t.Errorf("hang up phone: got %d %s, want 204", st, body)
	}
	<-owner.removed
	if st, _ := call(t, srv, token, "POST", "/api/v1/live/demo/participants/phone-1/remove", ""); st != 404 {
		t.Errorf("hang up again: got %d, want 404", st)
	}
	if st, _ := call(t, srv, token, "POST", "/api/v1/live/demo/participants/"+joined.ID+"/dance", ""); st != 404 {
		t.Errorf("unknown action: got %d, want 404", st)
	}
	if st, _ := call(t, srv, token, "POST", "/api/v1/live/demo/end", ""); st != 204 {
		t.Errorf("end: got %d, want 204", st)
	}
	if m := c.next("control"); m.Action != sfu.ControlEnded || m.By != "admin" {
		t.Errorf("end: browser got %+v, want control ended by admin", m)
	}
}

// fakePhoneOwner hangs up by leaving the room, as the phone side does.
type fakePhoneOwner struct {
	phone   *sfu.Phone
	removed chan struct{}
}

func (o *fakePhoneOwner) SetMuted(bool) {}
func (o *fakePhoneOwner) Remove() {
	o.phone.Leave()
	o.removed <- struct{}{}
}
func (o *fakePhoneOwner) End() { o.Remove() }

func TestAdminPageNeedsConfig(t *testing.T) {
	srv, _ := newTestServer(t)
	if st, _ := call(t, srv, "", "GET", "/api/v1/rooms", ""); st != 404 {
		t.Errorf("api without admin config: got %d, want 404", st)
	}
}
