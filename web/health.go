package web

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// ReadyCheck is one condition /readyz requires, e.g. "sip" (listening and
// not draining) or "database" (writable). Check returns nil when ready.
// Trunk registration (one check per registration trunk) plugs in here.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// readyTimeout bounds all checks of one /readyz request together.
const readyTimeout = 3 * time.Second

// Health serves GET /healthz (200 while the process serves HTTP) and GET
// /readyz (200 when every check passes, else 503), for load balancers and
// systemd watchdogs. Both answer with a small JSON body; /readyz names the
// failing checks and their errors. Checks run concurrently.
func Health(checks []ReadyCheck) http.Handler {
	return HealthFunc(func() []ReadyCheck { return checks })
}

// HealthFunc is Health with the checks listed anew for each /readyz
// request, for checks that come and go while the server runs (one per
// registration trunk, as trunks are added and removed).
func HealthFunc(list func() []ReadyCheck) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		failed := runChecks(ctx, list())
		if len(failed) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "failed": failed})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	return mux
}

// runChecks runs every check and returns name -> error text of the failed.
func runChecks(ctx context.Context, checks []ReadyCheck) map[string]string {
	var mu sync.Mutex
	failed := map[string]string{}
	var wg sync.WaitGroup
	for _, c := range checks {
		wg.Go(func() {
			if err := c.Check(ctx); err != nil {
				mu.Lock()
				failed[c.Name] = err.Error()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return failed
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
