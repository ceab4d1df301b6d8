package sip

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// SRTPMode is a trunk's use of SRTP with keys exchanged in the SDP (SDES,
// RFC 4568). The zero value is SRTPOptional.
type SRTPMode string

// The SRTP modes of a trunk.
const (
	// SRTPOptional answers RTP/SAVP offers with SRTP and RTP/AVP offers
	// with plain RTP, whichever stream the offer lists first.
	SRTPOptional SRTPMode = "optional"
	// SRTPRequired refuses offers without a usable RTP/SAVP stream (488).
	SRTPRequired SRTPMode = "required"
	// SRTPOff refuses offers with only RTP/SAVP streams (488).
	SRTPOff SRTPMode = "off"
)

// acceptsPlain and acceptsSecure say which m= protocols the mode answers.
func (m SRTPMode) acceptsPlain() bool  { return m != SRTPRequired }
func (m SRTPMode) acceptsSecure() bool { return m != SRTPOff }

// errCryptoUnsupported marks a well-formed a=crypto line that we cannot
// use (another suite, session parameters that change the packet format);
// the offer may still have another one we can.
var errCryptoUnsupported = errors.New("sdes: crypto attribute not supported")

// sdesSuite is one SRTP crypto suite that may be keyed by SDES.
type sdesSuite struct {
	name            string
	profile         srtp.ProtectionProfile
	keyLen, saltLen int // bytes of master key and master salt
}

// sdesSuites are the suites we accept, in our order of preference for our
// own offers: RFC 4568 §6.2, RFC 6188 §7.1 and the AES-GCM suites of RFC
// 7714 §14.2 (12-byte salts).
var sdesSuites = []sdesSuite{
	{"AES_CM_128_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80, 16, 14},
	{"AES_CM_128_HMAC_SHA1_32", srtp.ProtectionProfileAes128CmHmacSha1_32, 16, 14},
	{"AES_256_CM_HMAC_SHA1_80", srtp.ProtectionProfileAes256CmHmacSha1_80, 32, 14},
	{"AES_256_CM_HMAC_SHA1_32", srtp.ProtectionProfileAes256CmHmacSha1_32, 32, 14},
	{"AEAD_AES_128_GCM", srtp.ProtectionProfileAeadAes128Gcm, 16, 12},
	{"AEAD_AES_256_GCM", srtp.ProtectionProfileAeadAes256Gcm, 32, 12},
}

func suiteByName(name string) (sdesSuite, bool) {
	for _, s := range sdesSuites {
		if s.name == name {
			return s, true
		}
	}
	return sdesSuite{}, false
}

// sdesKey is a master key and salt for one suite. It is immutable once
// made; its String and LogValue never show the key.
type sdesKey struct {
	suite sdesSuite
	key   []byte // master key followed by master salt
	// mki is the master key identifier the sender puts in every packet
	// (RFC 3711 §3.1), big-endian in its announced length; nil for none.
	// Only the caller's keys have one: ours are answered without.
	mki []byte
	// more are further keys of the same a=crypto line, each with its own
	// MKI of the same length (RFC 4568 §6.1): the caller may switch to
	// any of them at any packet.
	more []*sdesKey
}

// String names the suite only, so a key cannot reach a log by accident.
func (k *sdesKey) String() string { return k.suite.name + " (key hidden)" }

// LogValue implements slog.LogValuer with the suite only.
func (k *sdesKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// sameAs reports whether k and o are the same suite, keys and MKIs.
func (k *sdesKey) sameAs(o *sdesKey) bool {
	if k == nil || o == nil || k.suite.name != o.suite.name || string(k.key) != string(o.key) ||
		string(k.mki) != string(o.mki) || len(k.more) != len(o.more) {
		return false
	}
	for i := range k.more {
		if !k.more[i].sameAs(o.more[i]) {
			return false
		}
	}
	return true
}

// newSDESKey makes a fresh random key for suite.
func newSDESKey(suite sdesSuite) *sdesKey {
	b := make([]byte, suite.keyLen+suite.saltLen)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return &sdesKey{suite: suite, key: b}
}

// sdesCrypto is one a=crypto attribute (RFC 4568 §9.1) that we can use:
// its tag and the single inline key.
type sdesCrypto struct {
	tag int
	key *sdesKey
}

// parseCrypto parses the value of an a=crypto attribute:
//
//	<tag> <crypto-suite> <key-params>[;<key-params>...] [<session-params>]
//	key-params = inline:<base64 key||salt>[|<lifetime>][|<MKI>:<length>]
//
// Several keys need an MKI each, all of one length (RFC 4568 §6.1). Lines
// we cannot use although they are well-formed (another suite, session
// parameters that change the packet format) return an error wrapping
// errCryptoUnsupported. The error never contains key material.
func parseCrypto(v string) (sdesCrypto, error) {
	f := strings.Fields(v)
	if len(f) < 3 {
		return sdesCrypto{}, errors.New("sdes: crypto attribute needs a tag, a suite and key parameters")
	}
	tag, err := strconv.Atoi(f[0])
	if err != nil || len(f[0]) > 9 || strings.Trim(f[0], "0123456789") != "" {
		return sdesCrypto{}, errors.New("sdes: crypto tag is not a number of at most 9 digits")
	}
	suite, ok := suiteByName(f[1])
	if !ok {
		return sdesCrypto{}, fmt.Errorf("sdes: suite %.40q: %w", f[1], errCryptoUnsupported)
	}
	for _, p := range f[3:] {
		if !strings.HasPrefix(p, "WSH=") && p != "KDR=0" { // a window size hint changes nothing on the wire
			name, _, _ := strings.Cut(p, "=") // FEC_KEY= carries a key: only the name
			return sdesCrypto{}, fmt.Errorf("sdes: session parameter %.40q: %w", name, errCryptoUnsupported)
		}
	}
	params := strings.Split(f[2], ";")
	if len(params) > maxSDESKeys {
		return sdesCrypto{}, fmt.Errorf("sdes: %d keys in one line, at most %d", len(params), maxSDESKeys)
	}
	var keys []*sdesKey
	seen := map[string]bool{}
	for _, p := range params {
		k, err := parseKeyParams(p, suite)
		if err != nil {
			return sdesCrypto{}, err
		}
		if len(params) > 1 {
			switch {
			case k.mki == nil:
				return sdesCrypto{}, errors.New("sdes: several keys without a master key identifier each")
			case len(keys) > 0 && len(k.mki) != len(keys[0].mki):
				return sdesCrypto{}, errors.New("sdes: master key identifiers of different lengths")
			case seen[string(k.mki)]:
				return sdesCrypto{}, errors.New("sdes: the same master key identifier twice")
			}
			seen[string(k.mki)] = true
		}
		keys = append(keys, k)
	}
	keys[0].more = keys[1:]
	return sdesCrypto{tag: tag, key: keys[0]}, nil
}

// maxSDESKeys bounds the keys one a=crypto line may carry.
const maxSDESKeys = 16

// parseKeyParams parses one "inline:<key||salt>[|<lifetime>][|<MKI>:<length>]".
func parseKeyParams(p string, suite sdesSuite) (*sdesKey, error) {
	method, inline, ok := strings.Cut(p, ":")
	if !ok || !strings.EqualFold(method, "inline") {
		return nil, errors.New("sdes: key parameters do not start with inline:")
	}
	parts := strings.Split(inline, "|")
	if len(parts) > 3 {
		return nil, errors.New("sdes: too many fields after the key")
	}
	var mki []byte
	for i, f := range parts[1:] {
		if strings.Contains(f, ":") {
			if i != len(parts)-2 {
				return nil, errors.New("sdes: master key identifier before the lifetime")
			}
			var err error
			if mki, err = parseMKI(f); err != nil {
				return nil, err
			}
			continue
		}
		if !validLifetime(f) {
			return nil, errors.New("sdes: key lifetime is not a number or 2^n")
		}
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(parts[0], "="))
	if err != nil {
		return nil, errors.New("sdes: key is not base64")
	}
	if len(raw) != suite.keyLen+suite.saltLen {
		return nil, fmt.Errorf("sdes: key and salt are %d bytes, want %d for %s", len(raw), suite.keyLen+suite.saltLen, suite.name)
	}
	return &sdesKey{suite: suite, key: raw, mki: mki}, nil
}

// parseMKI reads "<value>:<length>" (RFC 4568 §6.1: a decimal value and its
// length in bytes, 1-128) into the MKI's bytes, big-endian.
func parseMKI(s string) ([]byte, error) {
	v, l, _ := strings.Cut(s, ":")
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > 128 || len(l) > 3 {
		return nil, errors.New("sdes: master key identifier length is not 1-128")
	}
	value, err := strconv.ParseUint(v, 10, 64)
	if err != nil || len(v) > 20 || (n < 8 && value>>(8*n) != 0) {
		return nil, errors.New("sdes: master key identifier value does not fit its length")
	}
	mki := make([]byte, n)
	for i := n - 1; i >= 0 && value > 0; i-- {
		mki[i] = byte(value)
		value >>= 8
	}
	return mki, nil
}

// validLifetime accepts "2^n" or a decimal number (RFC 4568 §6.1); the
// value is not used: calls end long before 2^31 packets.
func validLifetime(s string) bool {
	s = strings.TrimPrefix(s, "2^")
	n, err := strconv.ParseUint(s, 10, 64)
	return err == nil && n > 0 && len(s) <= 20
}

// cryptoAttr formats our a=crypto line for the answer (or offer): the tag
// of the line we answer and our own key.
func cryptoAttr(tag int, k *sdesKey) string {
	var b strings.Builder
	fmt.Fprintf(&b, "a=crypto:%d %s ", tag, k.suite.name)
	for i, key := range append([]*sdesKey{k}, k.more...) {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString("inline:" + base64.StdEncoding.EncodeToString(key.key))
		if key.mki != nil {
			var v uint64
			for _, x := range key.mki[max(0, len(key.mki)-8):] {
				v = v<<8 | uint64(x)
			}
			fmt.Fprintf(&b, "|%d:%d", v, len(key.mki))
		}
	}
	return b.String()
}

// srtpKeys are the SRTP contexts of one call. A pion Context is not safe
// for concurrent use, so each has one user: inRTP the RTP reader, inRTCP
// the RTCP reader, outRTP the sender (under sendMu), outRTCP the call
// goroutine's reports.
type srtpKeys struct {
	remote, local   *sdesKey
	inRTP, inRTCP   *srtp.Context
	outRTP, outRTCP *srtp.Context
}

// replayWindow is the SRTP/SRTCP replay window in packets (RFC 3711 §3.3.2
// asks for at least 64).
const replayWindow = 128

// newSRTPKeys builds the contexts for remote (the caller's key: what we
// decrypt) and local (ours: what we encrypt). Contexts of prev whose key
// did not change are kept, with their rollover counters and replay
// windows, so a re-INVITE that repeats the keys does not disturb the
// streams.
func newSRTPKeys(remote, local *sdesKey, prev *srtpKeys) (*srtpKeys, error) {
	k := &srtpKeys{remote: remote, local: local}
	if prev != nil && prev.remote.sameAs(remote) {
		k.inRTP, k.inRTCP = prev.inRTP, prev.inRTCP
	} else {
		var err error
		if k.inRTP, err = remote.context(srtp.SRTPReplayProtection(replayWindow)); err != nil {
			return nil, err
		}
		if k.inRTCP, err = remote.context(srtp.SRTCPReplayProtection(replayWindow)); err != nil {
			return nil, err
		}
	}
	if prev != nil && prev.local.sameAs(local) {
		k.outRTP, k.outRTCP = prev.outRTP, prev.outRTCP
	} else {
		var err error
		if k.outRTP, err = local.context(); err != nil {
			return nil, err
		}
		if k.outRTCP, err = local.context(); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// context makes an SRTP context for k: with k's MKI and further keys when
// it has them (a context for the caller's packets finds the key by the MKI
// in each packet).
func (k *sdesKey) context(opts ...srtp.ContextOption) (*srtp.Context, error) {
	s := k.suite
	if k.mki != nil {
		opts = append(opts, srtp.MasterKeyIndicator(k.mki))
	}
	c, err := srtp.CreateContext(k.key[:s.keyLen], k.key[s.keyLen:], s.profile, opts...)
	if err != nil {
		return nil, fmt.Errorf("srtp: %s context: %w", s.name, err)
	}
	for _, m := range k.more {
		if err := c.AddCipherForMKI(m.mki, m.key[:s.keyLen], m.key[s.keyLen:]); err != nil {
			return nil, fmt.Errorf("srtp: %s context: %w", s.name, err)
		}
	}
	return c, nil
}

// srtpMaxTag is the most SRTP adds to a packet we send: the longest
// authentication tag of sdesSuites (AES-GCM's 16 bytes; our keys carry no
// MKI).
const srtpMaxTag = 16

// setKeys installs the SRTP contexts for m (none for plain RTP), keeping
// those whose key did not change.
func (s *rtpSession) setKeys(m Media) {
	switch {
	case m.localKey == nil:
		s.keys.Store(nil) // plain RTP
		return
	case m.remoteKey == nil:
		s.keys.Store(&srtpKeys{}) // our SRTP offer awaits its answer: send and accept nothing
		return
	}
	k, err := newSRTPKeys(m.remoteKey, m.localKey, s.keys.Load())
	if err != nil {
		// Unreachable with keys parseCrypto or newSDESKey made. Keys
		// without contexts drop every packet: silence, never cleartext.
		s.log.Warn("srtp keys not usable", "error", err)
		k = &srtpKeys{}
	}
	s.keys.Store(k)
}

var errNoContext = errors.New("srtp: no usable key")

// The packet operations of a call's keys; each is used by one goroutine
// (see srtpKeys). dst is reused when it is large enough.

func (k *srtpKeys) encryptRTP(dst, pkt []byte, h *rtp.Header) ([]byte, error) {
	if k.outRTP == nil {
		return nil, errNoContext
	}
	return k.outRTP.EncryptRTP(dst, pkt, h)
}

func (k *srtpKeys) decryptRTP(dst, pkt []byte) ([]byte, error) {
	if k.inRTP == nil {
		return nil, errNoContext
	}
	return k.inRTP.DecryptRTP(dst, pkt, nil)
}

func (k *srtpKeys) encryptRTCP(dst, pkt []byte) ([]byte, error) {
	if k.outRTCP == nil {
		return nil, errNoContext
	}
	return k.outRTCP.EncryptRTCP(dst, pkt, nil)
}

func (k *srtpKeys) decryptRTCP(dst, pkt []byte) ([]byte, error) {
	if k.inRTCP == nil {
		return nil, errNoContext
	}
	return k.inRTCP.DecryptRTCP(dst, pkt, nil)
}

// srtpSuite names m's SRTP suite for logs ("none" for plain RTP).
func srtpSuite(m *Media) string {
	if m.localKey == nil {
		return "none"
	}
	return m.localKey.suite.name
}
