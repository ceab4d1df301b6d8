package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// ErrNoCodec means the SDP offer has no audio stream with a codec we speak;
// the INVITE is answered 488 Not Acceptable Here.
var ErrNoCodec = errors.New("sip: no common codec")

// Codec is a G.711 variant.
type Codec int

// The codecs the server speaks, with their static RTP payload types (RFC 3551).
const (
	PCMU Codec = 0 // G.711 µ-law, payload type 0
	PCMA Codec = 8 // G.711 A-law, payload type 8
)

// String returns the SDP encoding name, "PCMU" or "PCMA".
func (c Codec) String() string {
	if c == PCMA {
		return "PCMA"
	}
	return "PCMU"
}

// Media is the result of negotiating one SDP offer.
type Media struct {
	Codec   Codec
	PT      uint8          // payload type for the codec as the offer numbered it
	EventPT int            // telephone-event payload type, -1 when not offered
	Remote  netip.AddrPort // where to send RTP until the caller's RTP arrives
	PtimeMS int            // the offer's a=ptime, 0 when absent
	Dir     Direction      // the offer's direction; c=0.0.0.0 (RFC 2543 hold) counts as sendonly

	// SRTP (RTP/SAVP with SDES keys, RFC 4568; sdes.go). remoteKey is the
	// caller's key from the a=crypto line with tag cryptoTag, localKey
	// ours for the answer; both nil for plain RTP.
	proto     string // the chosen m= line's protocol, repeated in the answer
	remoteKey *sdesKey
	localKey  *sdesKey
	cryptoTag int

	// The offer's other m= lines, each answered as rejected (port 0, RFC
	// 3264 §6): those before and after the one we chose.
	rejectedBefore, rejectedAfter string
}

// Secure reports whether the media is SRTP.
func (m Media) Secure() bool { return m.remoteKey != nil }

// Negotiate picks, from an SDP offer, the first audio stream and in it the
// first format (in the offer's order) that is PCMU or PCMA, plus the
// telephone-event/8000 payload type if offered (any number). RTP/SAVP
// streams count when they carry an a=crypto line we can use (SRTPOptional).
func Negotiate(offer []byte) (Media, error) { return negotiate(offer, SRTPOptional) }

// negotiate is Negotiate under a trunk's SRTP mode. A secure stream gets a
// fresh local key; renegotiate keeps the call's key when it can.
func negotiate(offer []byte, mode SRTPMode) (Media, error) {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(offer); err != nil {
		return Media{}, fmt.Errorf("sdp: parse offer: %w", err)
	}
	noCodec := ErrNoCodec
	for i, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 {
			continue
		}
		proto := strings.ToUpper(strings.Join(md.MediaName.Protos, "/"))
		secure := isRTPSAVP(proto)
		if !(isRTPAVP(proto) && mode.acceptsPlain() || secure && mode.acceptsSecure()) {
			continue
		}
		m, ok := pickFormats(md)
		if !ok {
			continue
		}
		if secure {
			c, err := pickCrypto(md)
			if err != nil {
				noCodec = fmt.Errorf("%w: %w", ErrNoCodec, err)
				continue
			}
			m.proto, m.remoteKey, m.cryptoTag = proto, c.key, c.tag
			m.localKey = newSDESKey(c.key.suite)
		}
		m.rejectedBefore, m.rejectedAfter = rejectedLines(sd.MediaDescriptions[:i]), rejectedLines(sd.MediaDescriptions[i+1:])
		addr, err := connectionAddr(&sd, md)
		if err != nil {
			return Media{}, err
		}
		if md.MediaName.Port.Value < 1 || md.MediaName.Port.Value > 65535 {
			return Media{}, fmt.Errorf("sdp: port %d: %w", md.MediaName.Port.Value, ErrNoCodec)
		}
		m.Remote = netip.AddrPortFrom(addr, uint16(md.MediaName.Port.Value))
		if v, ok := md.Attribute("ptime"); ok {
			m.PtimeMS, _ = strconv.Atoi(strings.TrimSpace(v))
		}
		m.Dir = offerDirection(&sd, md)
		if addr.IsUnspecified() && m.Dir == DirSendRecv {
			m.Dir = DirSendOnly
		} else if addr.IsUnspecified() && m.Dir == DirRecvOnly {
			m.Dir = DirInactive
		}
		return m, nil
	}
	return Media{}, noCodec
}

// pickCrypto returns the first a=crypto line of md we can use (RFC 4568
// §7.1.1: the offer lists them in its order of preference).
func pickCrypto(md *sdp.MediaDescription) (sdesCrypto, error) {
	err := errors.New("sdes: no a=crypto line")
	for _, a := range md.Attributes {
		if a.Key != "crypto" {
			continue
		}
		c, perr := parseCrypto(a.Value)
		if perr == nil {
			return c, nil
		}
		err = perr
	}
	return sdesCrypto{}, err
}

// rejectedLines answers each of mds with port 0 (RFC 3264 §6).
func rejectedLines(mds []*sdp.MediaDescription) string {
	var b strings.Builder
	for _, md := range mds {
		proto := strings.Join(md.MediaName.Protos, "/")
		fmts := strings.Join(md.MediaName.Formats, " ")
		if fmts == "" {
			fmts = "0"
		}
		fmt.Fprintf(&b, "m=%s 0 %s %s\r\n", md.MediaName.Media, proto, fmts)
	}
	return b.String()
}

// offerDirection is the media-level direction attribute, else the
// session-level one, else sendrecv (RFC 3264 §5.1).
func offerDirection(sd *sdp.SessionDescription, md *sdp.MediaDescription) Direction {
	for _, attrs := range [][]sdp.Attribute{md.Attributes, sd.Attributes} {
		for _, a := range attrs {
			switch a.Key {
			case "sendonly":
				return DirSendOnly
			case "recvonly":
				return DirRecvOnly
			case "inactive":
				return DirInactive
			case "sendrecv":
				return DirSendRecv
			}
		}
	}
	return DirSendRecv
}

func isRTPAVP(p string) bool { return p == "RTP/AVP" || p == "RTP/AVPF" }

func isRTPSAVP(p string) bool { return p == "RTP/SAVP" || p == "RTP/SAVPF" }

// pickFormats chooses the codec and the telephone-event payload type.
func pickFormats(md *sdp.MediaDescription) (Media, bool) {
	maps := rtpmaps(md)
	m := Media{EventPT: -1}
	found := false
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.Atoi(f)
		if err != nil || pt < 0 || pt > 127 {
			continue
		}
		name, hasMap := maps[pt]
		if strings.EqualFold(name, "telephone-event/8000") && m.EventPT < 0 {
			m.EventPT = pt
			continue
		}
		if found {
			continue
		}
		switch {
		case (!hasMap && pt == 0) || strings.EqualFold(name, "PCMU/8000") || strings.EqualFold(name, "PCMU/8000/1"):
			m.Codec, m.PT, found = PCMU, uint8(pt), true
		case (!hasMap && pt == 8) || strings.EqualFold(name, "PCMA/8000") || strings.EqualFold(name, "PCMA/8000/1"):
			m.Codec, m.PT, found = PCMA, uint8(pt), true
		}
	}
	return m, found
}

// rtpmaps returns payload type -> "encoding/clock[/channels]" from a=rtpmap.
func rtpmaps(md *sdp.MediaDescription) map[int]string {
	out := make(map[int]string)
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		ptStr, name, ok := strings.Cut(strings.TrimSpace(a.Value), " ")
		if !ok {
			continue
		}
		if pt, err := strconv.Atoi(ptStr); err == nil {
			out[pt] = strings.TrimSpace(name)
		}
	}
	return out
}

func connectionAddr(sd *sdp.SessionDescription, md *sdp.MediaDescription) (netip.Addr, error) {
	ci := md.ConnectionInformation
	if ci == nil {
		ci = sd.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return netip.Addr{}, errors.New("sdp: no connection address")
	}
	addr, err := netip.ParseAddr(ci.Address.Address)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("sdp: connection address: %w", err)
	}
	return addr.Unmap(), nil
}

// Answer builds the SDP answer for m, announcing RTP at ip:port. sessionID
// must stay the same for the life of the call; version must grow whenever
// the SDP changes (RFC 3264 §8), e.g. when a re-INVITE puts the call on hold.
func Answer(m Media, ip netip.Addr, port int, sessionID, version uint64) []byte {
	ipVer := "IP4"
	if ip.Is6() && !ip.Is4In6() {
		ipVer = "IP6"
	}
	ipStr := ip.Unmap().String()
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=dialroom %d %d IN %s %s\r\ns=dialroom\r\n", sessionID, version, ipVer, ipStr)
	fmt.Fprintf(&b, "c=IN %s %s\r\nt=0 0\r\n", ipVer, ipStr)
	b.WriteString(m.rejectedBefore)
	fmts := strconv.Itoa(int(m.PT))
	if m.EventPT >= 0 {
		fmts += " " + strconv.Itoa(m.EventPT)
	}
	proto := "RTP/AVP"
	if m.localKey != nil {
		proto = "RTP/SAVP"
		if m.proto == "RTP/SAVPF" {
			proto = m.proto
		}
	}
	fmt.Fprintf(&b, "m=audio %d %s %s\r\n", port, proto, fmts)
	fmt.Fprintf(&b, "a=rtpmap:%d %s/8000\r\n", m.PT, m.Codec)
	if m.EventPT >= 0 {
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", m.EventPT, m.EventPT)
	}
	if m.localKey != nil {
		b.WriteString(cryptoAttr(m.cryptoTag, m.localKey) + "\r\n")
	}
	b.WriteString("a=ptime:20\r\na=" + m.Dir.answer() + "\r\n")
	b.WriteString(m.rejectedAfter)
	return []byte(b.String())
}
