package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// NewAdminToken writes a fresh admin API token's SHA-256 hash to the file at
// path (mode 0600, replacing any earlier token) and returns the token. The
// token itself is stored nowhere: show it to the admin once.
func NewAdminToken(path string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	token := "dra_" + base64.RawURLEncoding.EncodeToString(b)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(hashToken(token)+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	return token, nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// adminAuthorized reports whether r carries "Authorization: Bearer TOKEN"
// whose hash is in the token file. The file is read on every request, so
// `dialroom admin token` takes effect without a restart.
func (s *server) adminAuthorized(r *http.Request) bool {
	if s.adminTokenFile == "" {
		return false
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return false
	}
	want, err := os.ReadFile(s.adminTokenFile)
	if err != nil {
		return false
	}
	got := hashToken(strings.TrimSpace(token))
	return subtle.ConstantTimeCompare([]byte(got), []byte(strings.TrimSpace(string(want)))) == 1
}
