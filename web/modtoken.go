package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// secretSize is the length of the moderator-link secret in bytes.
const secretSize = 32

// ModeratorToken returns the moderator join token of the room slug: the
// first 16 bytes of HMAC-SHA256(secret, "moderator:"+slug), base64url. Anyone
// who opens /r/{slug}?mod=TOKEN joins as a moderator. (Full user accounts
// and roles are a later issue; this is the interim rule.)
func ModeratorToken(secret []byte, slug string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("moderator:" + slug))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}

// validModeratorToken reports in constant time whether token is the
// moderator token of slug. Without a secret no token is valid.
func validModeratorToken(secret []byte, slug, token string) bool {
	if len(secret) == 0 || token == "" {
		return false
	}
	return hmac.Equal([]byte(ModeratorToken(secret, slug)), []byte(token))
}

// LoadOrCreateSecret reads the secret in the file at path, creating the file
// (mode 0600) with a fresh random secret if it does not exist.
func LoadOrCreateSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < secretSize {
			return nil, fmt.Errorf("secret %s: %d bytes, want at least %d", path, len(b), secretSize)
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("secret: %w", err)
	}
	b = make([]byte, secretSize)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateSecret(path) // another process won the race
	}
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("secret %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("secret %s: %w", path, err)
	}
	return b, nil
}
