package sip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// nonceLifetime bounds how long a 407 challenge may be answered.
const nonceLifetime = 5 * time.Minute

// nonces issues and checks stateless digest nonces: the issue time and an
// HMAC of it under a per-process key, so no table grows with scanners.
type nonces struct {
	key [32]byte
	now func() time.Time
}

func newNonces(now func() time.Time) *nonces {
	n := &nonces{now: now}
	_, _ = rand.Read(n.key[:]) // crypto/rand.Read never fails (Go 1.24+)
	return n
}

func (n *nonces) issue() string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(n.now().Unix()))
	copy(b[8:], n.mac(b[:8]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// valid reports whether s was issued by us and has not expired.
func (n *nonces) valid(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 24 {
		return false
	}
	if !hmac.Equal(b[8:], n.mac(b[:8])) {
		return false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	age := n.now().Sub(issued)
	return age >= -time.Second && age <= nonceLifetime
}

func (n *nonces) mac(b []byte) []byte {
	m := hmac.New(sha256.New, n.key[:])
	m.Write(b)
	return m.Sum(nil)[:16]
}

// challenge is the Proxy-Authenticate value for a fresh 407.
func (s *Server) challenge() sip.Header {
	ch := digest.Challenge{Realm: s.trunks.digestRealm, Nonce: s.nonces.issue(), Algorithm: "MD5", QOP: []string{"auth"}}
	return sip.NewHeader("Proxy-Authenticate", ch.String())
}

// authenticated checks the request's Proxy-Authorization against trunk's
// credentials (or, when trunk is nil, against the source-less digest trunks)
// and returns the trunk that authenticated.
func (s *Server) authenticated(req *sip.Request, trunk *Trunk) (Trunk, bool) {
	h := req.GetHeader("Proxy-Authorization")
	if h == nil {
		return Trunk{}, false
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil || cred.Realm != s.trunks.digestRealm || !s.nonces.valid(cred.Nonce) {
		return Trunk{}, false
	}
	var tr Trunk
	if trunk != nil {
		tr = *trunk
	} else if t, ok := s.trunks.byUser(cred.Username); ok {
		tr = t
	} else {
		return Trunk{}, false
	}
	if cred.Username != tr.Username || !strings.EqualFold(cred.Algorithm, "MD5") && cred.Algorithm != "" {
		return Trunk{}, false
	}
	ch := digest.Challenge{Realm: cred.Realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm}
	if cred.QOP != "" {
		ch.QOP = []string{cred.QOP}
	}
	want, err := digest.Digest(&ch, digest.Options{Method: string(req.Method), URI: cred.URI,
		Username: tr.Username, Password: tr.Password, Cnonce: cred.Cnonce, Count: cred.Nc})
	if err != nil {
		return Trunk{}, false
	}
	if subtle.ConstantTimeCompare([]byte(want.Response), []byte(cred.Response)) != 1 {
		return Trunk{}, false
	}
	return tr, true
}

// admit decides whether a new INVITE may proceed, and answers it (403, 407
// or nothing at all) when it may not. It returns the trunk the call is from.
func (s *Server) admit(req *sip.Request, tx sip.ServerTransaction) (Trunk, bool) {
	src := sourceAddr(req)
	tr, known := s.trunks.bySource(src)
	switch {
	case known && tr.Username == "":
		return tr, true
	case known:
		if t, ok := s.authenticated(req, &tr); ok {
			return t, true
		}
	case s.trunks.hasDigestOnly():
		if t, ok := s.authenticated(req, nil); ok {
			return t, true
		}
	default:
		s.refuse(req, tx)
		return Trunk{}, false
	}
	s.respond(req, tx, 407, "Proxy Authentication Required", s.challenge())
	return Trunk{}, false
}

// refuse answers a request from an unknown source with 403, or not at all
// when unknown sources are to be ignored.
func (s *Server) refuse(req *sip.Request, tx sip.ServerTransaction) {
	s.log.Debug("request from unknown source refused", "method", string(req.Method), "drop", s.trunks.dropUnknown)
	if s.trunks.dropUnknown {
		tx.Terminate()
		return
	}
	s.respond(req, tx, 403, "Forbidden")
}
