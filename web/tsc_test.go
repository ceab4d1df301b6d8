package web

import (
	"os/exec"
	"testing"
)

// TestClientTypes type-checks the client's JSDoc-typed ES modules with
// tsc --checkJs (web/tsconfig.json). It is skipped where tsc is not installed
// (npm install -g typescript@5).
func TestClientTypes(t *testing.T) {
	tsc, err := exec.LookPath("tsc")
	if err != nil {
		t.Skip("tsc not installed")
	}
	out, err := exec.Command(tsc, "-p", "tsconfig.json").CombinedOutput()
	if err != nil {
		t.Errorf("tsc: %v\n%s", err, out)
	}
}
