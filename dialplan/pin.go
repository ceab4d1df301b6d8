package dialplan

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2id cost. A PIN has little entropy, so the hash mainly keeps PINs
// out of plain sight in the database; the cost is kept moderate (a few ms)
// because the IVR checks a PIN on every '#'.
const (
	argonTime    = 1
	argonMemory  = 8 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16

	// Upper bounds accepted when reading a stored hash, so that a corrupt
	// or hostile row cannot make CheckPIN allocate gigabytes.
	maxArgonTime   = 10
	maxArgonMemory = 256 * 1024
)

// Passwords (local accounts, the console's admin) have more entropy to
// protect and are checked once per login, so they get a stronger cost.
const (
	passwordTime   = 2
	passwordMemory = 64 * 1024 // KiB
)

// HashPIN returns an argon2id hash of pin with a random salt, encoded as
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<threads>$<salt>$<key> (PHC form).
func HashPIN(pin string) (string, error) {
	return hashArgon2id(pin, argonTime, argonMemory)
}

// HashPassword is HashPIN at the password cost; CheckPIN checks both.
func HashPassword(password string) (string, error) {
	return hashArgon2id(password, passwordTime, passwordMemory)
}

func hashArgon2id(secret string, time, memory uint32) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}
	key := argon2.IDKey([]byte(secret), salt, time, memory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, memory, time, argonThreads, base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPIN reports whether pin matches hash, comparing in constant time.
// A malformed hash never matches.
func CheckPIN(hash, pin string) bool {
	p, ok := parseHash(hash)
	if !ok {
		return false
	}
	key := argon2.IDKey([]byte(pin), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1
}

type argonHash struct {
	time, memory uint32
	threads      uint8
	salt, key    []byte
}

func parseHash(hash string) (argonHash, bool) {
	var h argonHash
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return h, false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.time, &h.threads); err != nil {
		return h, false
	}
	if h.time < 1 || h.time > maxArgonTime || h.memory < 8 || h.memory > maxArgonMemory || h.threads < 1 {
		return h, false
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return h, false
	}
	if h.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return h, false
	}
	return h, true
}
