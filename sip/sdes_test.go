package sip

import (
	"encoding/base64"
	"encoding/hex"

	"errors"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"net/netip"
	"strings"
	"testing"
)

// key30 is 30 bytes (AES-128 key and salt) in base64.
const key30 = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw"

func loopbackPrefixes() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

func TestParseCrypto(t *testing.T) {
	key46 := base64.StdEncoding.EncodeToString([]byte("0123456789012345678901234567890123456789012345"))
	key30b := base64.StdEncoding.EncodeToString([]byte("abcdefghijabcdefghijabcdefghij"))
	key28 := base64.StdEncoding.EncodeToString([]byte("0123456789012345678901234567"))
	key44 := base64.StdEncoding.EncodeToString([]byte("01234567890123456789012345678901234567890123"))
	tests := []struct {
		in          string
		tag         int
		suite       string
		mki         string // hex of the first key's MKI
		keys        int    // keys in the line (0: 1)
		unsupported bool   // well-formed, but not for us
		bad         bool   // malformed
	}{
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30, tag: 1, suite: "AES_CM_128_HMAC_SHA1_80"},
		{in: "2 AES_CM_128_HMAC_SHA1_32 inline:" + key30 + "|2^20", tag: 2, suite: "AES_CM_128_HMAC_SHA1_32"},
		{in: "3 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1048576 WSH=64", tag: 3, suite: "AES_CM_128_HMAC_SHA1_80"},
		{in: "4 AES_256_CM_HMAC_SHA1_80 inline:" + key46, tag: 4, suite: "AES_256_CM_HMAC_SHA1_80"},
		{in: "5 AES_256_CM_HMAC_SHA1_32 inline:" + strings.TrimRight(key46, "="), tag: 5, suite: "AES_256_CM_HMAC_SHA1_32"},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:4", tag: 1, suite: "AES_CM_128_HMAC_SHA1_80", mki: "00000001"},
		{in: "6 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|258:2", tag: 6, suite: "AES_CM_128_HMAC_SHA1_80", mki: "0102"},
		{in: "7 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:4;inline:" + key30b + "|2^20|2:4", tag: 7, suite: "AES_CM_128_HMAC_SHA1_80", mki: "00000001", keys: 2},
		{in: "8 AEAD_AES_128_GCM inline:" + key28, tag: 8, suite: "AEAD_AES_128_GCM"},
		{in: "9 AEAD_AES_256_GCM inline:" + key44, tag: 9, suite: "AEAD_AES_256_GCM"},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + ";inline:" + key30, bad: true},               // two keys, no MKIs
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:4;inline:" + key30b + "|2:2", bad: true}, // MKI lengths differ
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:4;inline:" + key30b + "|1:4", bad: true}, // same MKI twice
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:0", bad: true},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:129", bad: true},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|256:1", bad: true},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|x:4", bad: true},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:4|2^20", bad: true},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + strings.Repeat(";inline:"+key30+"|1:4", 20), bad: true},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " UNENCRYPTED_SRTP", unsupported: true},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " FEC_KEY=inline:" + key30, unsupported: true},
		{in: "1 F8_128_HMAC_SHA1_80 inline:" + key30, unsupported: true},
		{in: "1 AEAD_AES_128_GCM inline:" + key30, bad: true}, // 30 bytes: a 14-byte salt, GCM's is 12
		{in: "", bad: true},
		{in: "1 AES_CM_128_HMAC_SHA1_80", bad: true},
		{in: "x AES_CM_128_HMAC_SHA1_80 inline:" + key30, bad: true},
		{in: "-1 AES_CM_128_HMAC_SHA1_80 inline:" + key30, bad: true},
		{in: "1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + key30, bad: true},
		{in: "1 AES_CM_128_HMAC_SHA1_80 uri:" + key30, bad: true},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30[:20], bad: true},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "AAAA", bad: true},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:***" + key30[3:], bad: true},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^x", bad: true},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1|2|3", bad: true},
		{in: "1 AES_256_CM_HMAC_SHA1_80 inline:" + key30, bad: true},
	}
	for _, tt := range tests {
		c, err := parseCrypto(tt.in)
		switch {
		case tt.unsupported || tt.bad:
			if err == nil {
				t.Errorf("parseCrypto(%q) = ok, want an error", tt.in)
				continue
			}
			if got := errors.Is(err, errCryptoUnsupported); got != tt.unsupported {
				t.Errorf("parseCrypto(%q): %v; unsupported %v, want %v", tt.in, err, got, tt.unsupported)
			}
			if strings.Contains(err.Error(), key30[:16]) {
				t.Errorf("parseCrypto(%q): error %q shows the key", tt.in, err)
			}
		case err != nil:
			t.Errorf("parseCrypto(%q): %v, want ok", tt.in, err)
		case c.tag != tt.tag || c.key.suite.name != tt.suite:
			t.Errorf("parseCrypto(%q) = tag %d suite %s, want %d %s", tt.in, c.tag, c.key.suite.name, tt.tag, tt.suite)
		case hex.EncodeToString(c.key.mki) != tt.mki || 1+len(c.key.more) != max(tt.keys, 1):
			t.Errorf("parseCrypto(%q) = MKI %x and %d keys, want %s and %d", tt.in, c.key.mki, 1+len(c.key.more), tt.mki, max(tt.keys, 1))
		}
	}
}

// Keys never show in fmt or slog output.
func TestSDESKeyHidden(t *testing.T) {
	c, err := parseCrypto("1 AES_CM_128_HMAC_SHA1_80 inline:" + key30)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{c.key.String(), c.key.LogValue().String()} {
		if strings.Contains(s, "1234567890") || strings.Contains(s, key30[:10]) {
			t.Errorf("key shown as %q", s)
		}
	}
}

func TestNegotiateSRTP(t *testing.T) {
	savp := offer("m=audio 6000 RTP/SAVP 0", "a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:"+key30)
	savpf := offer("m=audio 6000 RTP/SAVPF 0", "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:"+key30)
	avp := offer("m=audio 6000 RTP/AVP 0")
	// Best effort: the same audio as SAVP and as AVP.
	both := offer("m=audio 6000 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+key30, "m=audio 6002 RTP/AVP 0")
	// An unusable crypto line first, a usable one second.
	second := offer("m=audio 6000 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+key30+" UNENCRYPTED_SRTP",
		"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:"+key30)
	tests := []struct {
		name   string
		offer  []byte
		mode   SRTPMode
		secure bool
		port   uint16
		tag    int
		err    bool
	}{
		{"savp optional", savp, SRTPOptional, true, 6000, 7, false},
		{"savpf required", savpf, SRTPRequired, true, 6000, 2, false},
		{"savp off", savp, SRTPOff, false, 0, 0, true},
		{"avp required", avp, SRTPRequired, false, 0, 0, true},
		{"avp optional", avp, SRTPOptional, false, 6000, 0, false},
		{"both optional", both, SRTPOptional, true, 6000, 1, false},
		{"both off", both, SRTPOff, false, 6002, 0, false},
		{"second crypto", second, SRTPRequired, true, 6000, 2, false},
	}
	for _, tt := range tests {
		m, err := negotiate(tt.offer, tt.mode)
		if tt.err {
			if !errors.Is(err, ErrNoCodec) {
				t.Errorf("%s: err %v, want ErrNoCodec", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if m.Secure() != tt.secure || m.Remote.Port() != tt.port || m.cryptoTag != tt.tag {
			t.Errorf("%s: secure %v port %d tag %d, want %v %d %d", tt.name, m.Secure(), m.Remote.Port(), m.cryptoTag,
				tt.secure, tt.port, tt.tag)
		}
		if m.Secure() && (m.localKey == nil || m.localKey.sameAs(m.remoteKey) || m.localKey.suite != m.remoteKey.suite) {
			t.Errorf("%s: local key %v, want a fresh one of the offer's suite", tt.name, m.localKey)
		}
	}
}

// The answer to an SRTP offer repeats the protocol, answers the chosen
// crypto tag with our key, and keeps the offer's other m= lines, rejected.
func TestAnswerSRTP(t *testing.T) {
	o := offer("m=video 7000 RTP/AVP 96", "m=audio 6000 RTP/SAVP 0", "a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:"+key30,
		"m=audio 6002 RTP/AVP 0")
	m, err := negotiate(o, SRTPOptional)
	if err != nil {
		t.Fatal(err)
	}
	ans := string(Answer(m, netip.MustParseAddr("192.0.2.1"), 12000, 1, 1))
	var mlines []string
	for _, l := range strings.Split(ans, "\r\n") {
		if strings.HasPrefix(l, "m=") {
			mlines = append(mlines, l)
		}
	}
	want := []string{"m=video 0 RTP/AVP 96", "m=audio 12000 RTP/SAVP 0", "m=audio 0 RTP/AVP 0"}
	if strings.Join(mlines, "|") != strings.Join(want, "|") {
		t.Errorf("m= lines %q, want %q", mlines, want)
	}
	if !strings.Contains(ans, "a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:") || strings.Contains(ans, key30) {
		t.Errorf("answer %q: want tag 3 with our own key", ans)
	}
	back, err := Negotiate([]byte(ans))
	if err != nil || !back.remoteKey.sameAs(m.localKey) {
		t.Errorf("our answer does not parse back to our key: %v", err)
	}
}

// FuzzParseCrypto feeds arbitrary a=crypto values to the parser: it must
// never panic, and what it accepts must format and parse back the same.
func FuzzParseCrypto(f *testing.F) {
	for _, s := range []string{
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30,
		"2 AES_CM_128_HMAC_SHA1_32 inline:" + key30 + "|2^20|1:4",
		"3 AES_256_CM_HMAC_SHA1_80 inline:" + key30 + key30 + " WSH=64",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + ";inline:" + key30,
		"",
		"1 x inline:|||",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := parseCrypto(v)
		if err != nil {
			return
		}
		line := strings.TrimPrefix(cryptoAttr(c.tag, c.key), "a=crypto:")
		back, err := parseCrypto(line)
		if err != nil || back.tag != c.tag || !back.key.sameAs(c.key) {
			t.Fatalf("%q parsed, but its formatted form %q does not parse back the same: %v", v, line, err)
		}
	})
}

// The caller's packets are decrypted whichever of its keys it uses: a key
// with an MKI, a second key of the same line (switched by MKI), and the
// AES-GCM suites; and what we encrypt with a GCM key decrypts at the caller.
func TestSRTPKeysInterop(t *testing.T) {
	k1 := base64.StdEncoding.EncodeToString([]byte("0123456789abcdefABCDEFGHIJKLMN"))
	k2 := base64.StdEncoding.EncodeToString([]byte("zyxwvutsrqponmlkjihgfedcbaZYXW"))
	gcm := base64.StdEncoding.EncodeToString([]byte("0123456789abcdefGHIJKLMNOPQR")) // 16-byte key, 12-byte salt
	for _, tc := range []struct {
		name, line string
		key        string // the caller's key||salt it sends with (base64)
		mki        []byte
	}{
		{"mki", "1 AES_CM_128_HMAC_SHA1_80 inline:" + k1 + "|2^20|1:4", k1, []byte{0, 0, 0, 1}},
		{"second key", "1 AES_CM_128_HMAC_SHA1_80 inline:" + k1 + "|2^20|1:4;inline:" + k2 + "|2^20|2:4", k2, []byte{0, 0, 0, 2}},
		{"gcm", "1 AEAD_AES_128_GCM inline:" + gcm, gcm, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseCrypto(tc.line)
			if err != nil {
				t.Fatal(err)
			}
			local := newSDESKey(c.key.suite)
			keys, err := newSRTPKeys(c.key, local, nil)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := base64.StdEncoding.DecodeString(tc.key)
			s := c.key.suite
			var opts []srtp.ContextOption
			if tc.mki != nil {
				opts = append(opts, srtp.MasterKeyIndicator(tc.mki))
			}
			caller, err := srtp.CreateContext(raw[:s.keyLen], raw[s.keyLen:], s.profile, opts...)
			if err != nil {
				t.Fatal(err)
			}
			payload := []byte("twenty bytes of G.711")
			pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 7, Timestamp: 160, SSRC: 0xCAFE}, Payload: payload}).Marshal()
			enc, err := caller.EncryptRTP(nil, pkt, nil)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := keys.decryptRTP(nil, enc)
			if err != nil {
				t.Fatalf("the caller's packet does not decrypt: %v", err)
			}
			var got rtp.Packet
			if err := got.Unmarshal(dec); err != nil || string(got.Payload) != string(payload) {
				t.Fatalf("decrypted payload %q (%v), want %q", got.Payload, err, payload)
			}
			// Our direction: the caller decrypts with the key of our answer.
			ours, err := srtp.CreateContext(local.key[:s.keyLen], local.key[s.keyLen:], s.profile)
			if err != nil {
				t.Fatal(err)
			}
			var h rtp.Header
			_, _ = h.Unmarshal(pkt)
			out, err := keys.encryptRTP(nil, pkt, &h)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) > len(pkt)+srtpMaxTag {
				t.Errorf("we add %d bytes, srtpMaxTag is %d", len(out)-len(pkt), srtpMaxTag)
			}
			if back, err := ours.DecryptRTP(nil, out, nil); err != nil || !strings.HasSuffix(string(back), string(payload)) {
				t.Errorf("our packet does not decrypt with our answered key: %v", err)
			}
		})
	}
}
