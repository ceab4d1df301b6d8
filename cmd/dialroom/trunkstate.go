package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"dialroom/sip"
)

// trunkStateFile is where the running server keeps the registration state
// of its trunks, for `dialroom trunk list` in another process.
func trunkStateFile(dataDir string) string { return filepath.Join(dataDir, "trunk-state.json") }

// trunkStateWriter writes every registration state change to the state file.
type trunkStateWriter struct {
	path string
	log  *slog.Logger

	mu     sync.Mutex
	states map[string]sip.TrunkState
}

func newTrunkStateWriter(dataDir string, log *slog.Logger) *trunkStateWriter {
	return &trunkStateWriter{path: trunkStateFile(dataDir), log: log, states: make(map[string]sip.TrunkState)}
}

// update records st and rewrites the file (write to a temporary file, then
// rename, so a reader never sees half a file).
func (w *trunkStateWriter) update(st sip.TrunkState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if st.Removed {
		delete(w.states, st.Name)
	} else {
		w.states[st.Name] = st
	}
	b, err := json.MarshalIndent(w.states, "", "  ")
	if err == nil {
		tmp := w.path + ".tmp"
		if err = os.WriteFile(tmp, b, 0o644); err == nil {
			err = os.Rename(tmp, w.path)
		}
	}
	if err != nil {
		w.log.Warn("trunk state not saved", "error", err)
	}
}

// readTrunkStates reads the state file; a missing file means no state yet.
func readTrunkStates(dataDir string) (map[string]sip.TrunkState, error) {
	b, err := os.ReadFile(trunkStateFile(dataDir))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("trunk state: %w", err)
	}
	var m map[string]sip.TrunkState
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("trunk state %s: %w", trunkStateFile(dataDir), err)
	}
	return m, nil
}

// describeState is the STATE column of a registration trunk.
func describeState(st sip.TrunkState, ok bool, now time.Time) string {
	switch {
	case !ok:
		return "not registered (no state: server not running?)"
	case st.Registered && now.Before(st.Until):
		return "registered until " + st.Until.Local().Format(time.DateTime)
	case st.Registered:
		return "registration expired at " + st.Until.Local().Format(time.DateTime) + " (server not running?)"
	}
	state := "not registered: " + st.LastError + " (" + st.Updated.Local().Format(time.DateTime) + ")"
	if st.Retry.After(now) {
		state += "; next try " + st.Retry.Local().Format(time.DateTime)
	}
	return state
}
