package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"dialroom/dialplan"
	"dialroom/sfu"
)

// storeTrunks lists one read-only "config" trunk and the stored ones, and
// edits the stored ones, counting applied changes.
type storeTrunks struct {
	s       *dialplan.Store
	applied atomic.Int32
}

func (f *storeTrunks) Trunks(ctx context.Context) ([]TrunkInfo, error) {
	out := []TrunkInfo{{Name: "carrier", Sources: []string{"192.0.2.0/28"}, State: "ready", Origin: "config",
		Transport: "udp,tcp", SRTP: "optional"}}
	list, err := f.s.Trunks(ctx)
	for _, t := range list {
		ti := TrunkInfo{Name: t.Name, Sources: t.Sources, Auth: t.Username != "", Username: t.Username, State: "ready",
			Origin: "stored", MaxCalls: t.MaxCalls, SRTP: t.SRTP, Transport: "udp,tcp"}
		if t.Register != nil {
			ti.Register, ti.RegUser, ti.RegTransport = t.Register.Registrar, t.Register.Username, t.Register.Transport
			ti.Transport = t.Register.Transport
		}
		out = append(out, ti)
	}
	return out, err
}

func (f *storeTrunks) refuse(name string) error {
	if name == "carrier" {
		return fmt.Errorf("trunk carrier is read-only: %w", dialplan.ErrExists)
	}
	return nil
}

func (f *storeTrunks) AddTrunk(ctx context.Context, t dialplan.StoredTrunk) error {
	if err := f.refuse(t.Name); err != nil {
		return err
	}
	_, err := f.s.AddTrunk(ctx, t)
	if err == nil {
		f.applied.Add(1)
	}
	return err
}

func (f *storeTrunks) UpdateTrunk(ctx context.Context, name string, c dialplan.TrunkChange) error {
	if err := f.refuse(name); err != nil {
		return err
	}
	_, err := f.s.UpdateTrunk(ctx, name, c)
	if err == nil {
		f.applied.Add(1)
	}
	return err
}

func (f *storeTrunks) RemoveTrunk(ctx context.Context, name string) error {
	if err := f.refuse(name); err != nil {
		return err
	}
	err := f.s.RemoveTrunk(ctx, name)
	if err == nil {
		f.applied.Add(1)
	}
	return err
}

func TestAdminTrunkAPI(t *testing.T) {
	var trunks *storeTrunks
	e := newTestEnv(t, func(c *Config, store *dialplan.Store) {
		trunks = &storeTrunks{s: store}
		c.Trunks = trunks
	})
	srv, token := e.srv, e.token

	steps := []struct {
		method, path, body string
		want               int
		wantIn             string // in the answer
	}{
		{"POST", "/api/v1/trunks", `{"name":"pbx","sources":["198.51.100.7"],"username":"pbx","password":"digest-secret","maxCalls":3}`,
			http.StatusCreated, `"origin":"stored"`},
		{"POST", "/api/v1/trunks", `{"name":"pbx","sources":["198.51.100.8"]}`, http.StatusConflict, `"exists"`},
		{"POST", "/api/v1/trunks", `{"name":"carrier","sources":["10.0.0.1"]}`, http.StatusConflict, `read-only`},
		{"POST", "/api/v1/trunks", `{"name":"bad","sources":["nowhere"]}`, http.StatusBadRequest, `"invalid"`},
		{"POST", "/api/v1/trunks", `{"name":"x","sources":["10.0.0.1"],"secret":1}`, http.StatusBadRequest, `"bad_request"`},
		{"PATCH", "/api/v1/trunks/pbx", `{"register":{"registrar":"sbc.example:5060","username":"acct","password":"reg-secret"}}`,
			http.StatusOK, `"register":"sbc.example:5060"`},
		{"PATCH", "/api/v1/trunks/pbx", `{"name":"other"}`, http.StatusBadRequest, `renamed`},
		{"PATCH", "/api/v1/trunks/nope", `{"maxCalls":1}`, http.StatusNotFound, `"not_found"`},
		{"GET", "/api/v1/trunks", "", http.StatusOK, `"name":"pbx"`},
		{"GET", "/api/v1/trunks", "", http.StatusOK, `"srtp":"optional","transport":"udp,tcp"`},
		{"DELETE", "/api/v1/trunks/carrier", "", http.StatusConflict, `read-only`},
		{"DELETE", "/api/v1/trunks/pbx", "", http.StatusNoContent, ""},
		{"DELETE", "/api/v1/trunks/pbx", "", http.StatusNotFound, ""},
	}
	for _, st := range steps {
		code, body := call(t, srv, token, st.method, st.path, st.body)
		if code != st.want || !strings.Contains(body, st.wantIn) {
			t.Errorf("%s %s %s: got %d %s, want %d with %s", st.method, st.path, st.body, code, body, st.want, st.wantIn)
		}
		if strings.Contains(body, "secret") && !strings.Contains(st.body, `"secret":1`) {
			t.Errorf("%s %s: answer shows a password: %s", st.method, st.path, body)
		}
	}
	if got := trunks.applied.Load(); got != 3 {
		t.Errorf("changes applied: got %d, want 3", got)
	}
	if code, _ := call(t, srv, "", "POST", "/api/v1/trunks", `{"name":"y","sources":["10.0.0.1"]}`); code != http.StatusUnauthorized {
		t.Errorf("POST without token: got %d, want 401", code)
	}
	code, body := call(t, srv, token, "GET", "/api/v1/trunks", "")
	var list []TrunkInfo
	if err := json.Unmarshal([]byte(body), &list); code != http.StatusOK || err != nil || len(list) != 1 || list[0].Origin != "config" {
		t.Errorf("list after remove: got %d %s (%v)", code, body, err)
	}
}

// FuzzTrunkAPIBody sends arbitrary bodies to the trunk endpoints: every
// answer is a clear 2xx or 4xx, never a panic or a 500.
func FuzzTrunkAPIBody(f *testing.F) {
	f.Add("POST", `{"name":"pbx","sources":["198.51.100.7"],"username":"u","password":"p"}`)
	f.Add("PATCH", `{"register":{"registrar":"[::1]:5060","username":"a","password":"b","expiresSeconds":-1}}`)
	f.Add("POST", `{"name":"x","maxDurationSeconds":9223372036854775807,"sources":["1.2.3.4/40"]}`)
	dir := f.TempDir()
	store, err := dialplan.Open(dir)
	if err != nil {
		f.Fatal(err)
	}
	defer store.Close()
	tokenFile := filepath.Join(dir, "admin-token")
	token, err := NewAdminToken(tokenFile)
	if err != nil {
		f.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	mgr, err := sfu.NewManager(sfu.Config{ICEIPs: []string{"127.0.0.1"}}, log)
	if err != nil {
		f.Fatal(err)
	}
	defer mgr.Close()
	h := New(Config{Admin: store, AdminTokenFile: tokenFile, Trunks: &storeTrunks{s: store}}, store, mgr, log)
	f.Fuzz(func(t *testing.T, method, body string) {
		path := "/api/v1/trunks"
		if method != "POST" {
			method, path = "PATCH", "/api/v1/trunks/pbx"
		}
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: got %d %s", method, body, rec.Code, rec.Body)
		}
	})
}
