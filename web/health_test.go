package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHealth(t *testing.T) {
	ok := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("not listening") }
	tests := []struct {
		name       string
		path       string
		checks     []ReadyCheck
		wantStatus int
		wantFailed []string
	}{
		{"healthz ignores checks", "/healthz", []ReadyCheck{{"sip", down}}, 200, nil},
		{"ready with no checks", "/readyz", nil, 200, nil},
		{"ready", "/readyz", []ReadyCheck{{"sip", ok}, {"database", ok}}, 200, nil},
		{"one down", "/readyz", []ReadyCheck{{"sip", down}, {"database", ok}}, 503, []string{"sip"}},
		{"all down", "/readyz", []ReadyCheck{{"sip", down}, {"database", down}}, 503, []string{"sip", "database"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Health(tt.checks).ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("status: got %d, want %d", rec.Code, tt.wantStatus)
			}
			var body struct {
				Status string            `json:"status"`
				Failed map[string]string `json:"failed"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if len(body.Failed) != len(tt.wantFailed) {
				t.Errorf("failed: got %v, want %v", body.Failed, tt.wantFailed)
			}
			for _, name := range tt.wantFailed {
				if body.Failed[name] != "not listening" {
					t.Errorf("failed[%s]: got %q, want %q", name, body.Failed[name], "not listening")
				}
			}
		})
	}
}

func TestHealthRejectsPost(t *testing.T) {
	rec := httptest.NewRecorder()
	Health(nil).ServeHTTP(rec, httptest.NewRequest("POST", "/readyz", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /readyz: got %d, want 405", rec.Code)
	}
}

// HealthFunc lists the checks at each request: a check added later counts.
func TestHealthFuncListsChecksPerRequest(t *testing.T) {
	var checks []ReadyCheck
	h := HealthFunc(func() []ReadyCheck { return checks })
	get := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code
	}
	if got := get(); got != 200 {
		t.Fatalf("no checks: got %d, want 200", got)
	}
	checks = append(checks, ReadyCheck{"trunk carrier", func(context.Context) error { return errors.New("not registered yet") }})
	if got := get(); got != 503 {
		t.Errorf("a failing check added: got %d, want 503", got)
	}
	checks = nil
	if got := get(); got != 200 {
		t.Errorf("check removed: got %d, want 200", got)
	}
}
