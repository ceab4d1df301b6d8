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

// Media is the result of negotiating one SDP offer.
type Media struct {
	Codec   Codec
	PT      uint8          // payload type for the codec as the offer numbered it
	EventPT int            // telephone-event payload type, -1 when not offered
	Remote  netip.AddrPort // where to send RTP until the caller's RTP arrives
	// RTCP is where the offer's a=rtcp attribute (RFC 3605) asks for RTCP,
	// when the caller's RTCP port is not the RTP port + 1 (NATs, SBCs);
	// the zero value means RTP port + 1.
	RTCP netip.AddrPort
	// RTCPMux: the offer asked for RTCP on the RTP port (a=rtcp-mux, RFC
	// 5761); the answer accepts, and RTCP then shares the RTP socket.
	RTCPMux bool
	PtimeMS int       // the offer's a=ptime, 0 when absent
	Dir     Direction // the offer's direction; c=0.0.0.0 (RFC 2543 hold) counts as sendonly

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

	// ourOffer marks the Media of our own offer (late offer, lateoffer.go):
	// its SDP lists every codec we speak, not just Codec.
	ourOffer bool

	// eventClock is the RTP clock of the telephone-event format when it
	// is not 8000: 48000 beside Opus, whose clock peers often give their
	// events too (RFC 4733 §2.1: the events use the audio's clock).
	eventClock int
}

// Secure reports whether the media is SRTP.
func (m Media) Secure() bool { return m.remoteKey != nil }

// Negotiate picks, from an SDP offer, the first audio stream with a codec
// we speak and in it, by our preference, G.722, then Opus, then the first
// of PCMU and PCMA in the offer's order; plus the telephone-event/8000
// payload type if offered (any number; with Opus, telephone-event/48000
// when offered). RTP/SAVP streams count when they
// carry an a=crypto line we can use (SRTPOptional).
//
// G.722 comes before Opus: the room mixes at 16 kHz, where both carry the
// same 7-8 kHz of audio; G.722 encodes several times faster (about 23 µs
// against 140 µs per 20 ms frame, BenchmarkPhoneEncode20ms; each talker
// on a phone leg needs an encode of its own), adds no look-ahead delay,
// and is what carriers' HD voice interconnects speak. Opus is better where
// a trunk loses packets (in-band FEC); a trunk that wants it offers it alone.
func Negotiate(offer []byte) (Media, error) { return negotiate(offer, SRTPOptional) }

// negotiate is Negotiate under a trunk's SRTP mode. A secure stream gets a
// fresh local key; renegotiate keeps the call's key when it can.
func negotiate(offer []byte, mode SRTPMode) (Media, error) { return negotiateSDP(offer, mode, false) }

// negotiateAnswer reads the answer to our own offer: like negotiate, but
// the codec is the first one in the answer's order that we speak, which
// is the one the answerer sends (RFC 3264 §7: the offerer SHOULD use it).
func negotiateAnswer(answer []byte, mode SRTPMode) (Media, error) {
	return negotiateSDP(answer, mode, true)
}

func negotiateSDP(offer []byte, mode SRTPMode, firstListed bool) (Media, error) {
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
		m, ok := pickFormats(md, firstListed)
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
		if v, ok := md.Attribute("rtcp"); ok {
			m.RTCP = parseRTCPAttr(v, addr)
		}
		_, m.RTCPMux = md.Attribute("rtcp-mux")
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

// codecRank orders the codecs we speak by preference (lower is better);
// PCMU and PCMA share one rank, so the offer's order decides between them.
func codecRank(c Codec) int {
	switch c {
	case G722:
		return 0
	case Opus:
		return 1
	}
	return 2
}

// formatCodec is the codec of payload type pt, given its a=rtpmap
// encoding (hasMap false when the offer has none: static types then).
func formatCodec(pt int, name string, hasMap bool) (Codec, bool) {
	if !hasMap {
		switch pt {
		case 0:
			return PCMU, true
		case 8:
			return PCMA, true
		case 9:
			return G722, true
		}
		return 0, false
	}
	enc, rest, _ := strings.Cut(name, "/")
	clock, channels, _ := strings.Cut(rest, "/")
	switch {
	case strings.EqualFold(enc, "opus"):
		// RFC 7587 §7: always opus/48000/2; some peers leave out the channels.
		return Opus, clock == "48000" && (channels == "" || channels == "2")
	case clock != "8000" || channels != "" && channels != "1":
		return 0, false
	case strings.EqualFold(enc, "PCMU"):
		return PCMU, true
	case strings.EqualFold(enc, "PCMA"):
		return PCMA, true
	case strings.EqualFold(enc, "G722"):
		return G722, true
	}
	return 0, false
}

// pickFormats chooses the codec, by our preference or, with firstListed,
// the first in md's order; and the telephone-event payload type: the
// first at 8000, or for Opus the first at 48000 when there is one.
func pickFormats(md *sdp.MediaDescription, firstListed bool) (Media, bool) {
	maps := rtpmaps(md)
	m := Media{EventPT: -1}
	found := false
	event48k := -1
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
		if strings.EqualFold(name, "telephone-event/48000") {
			if event48k < 0 {
				event48k = pt
			}
			continue
		}
		c, ok := formatCodec(pt, name, hasMap)
		if ok && (!found || !firstListed && codecRank(c) < codecRank(m.Codec)) {
			m.Codec, m.PT, found = c, uint8(pt), true
		}
	}
	if m.Codec == Opus && event48k >= 0 {
		m.EventPT, m.eventClock = event48k, 48000
	}
	return m, found
}

// listsCodec reports whether an audio stream of SDP body that is not
// rejected (port 0; ours have one) lists codec c: under payload type pt
// for the static ones, under any number for Opus (a dynamic type the
// answerer may renumber).
func listsCodec(body []byte, c Codec, pt uint8) bool {
	var sd sdp.SessionDescription
	if sd.Unmarshal(body) != nil {
		return false
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 {
			continue
		}
		maps := rtpmaps(md)
		for _, f := range md.MediaName.Formats {
			p, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			name, hasMap := maps[p]
			if got, ok := formatCodec(p, name, hasMap); ok && got == c && (c == Opus || p == int(pt)) {
				return true
			}
		}
	}
	return false
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

// parseRTCPAttr reads the value of an a=rtcp attribute (RFC 3605 §2.1:
// "port [nettype addrtype connection-address]"); the address defaults to the
// stream's. A value it cannot read gives the zero AddrPort: RTCP then goes to
// the RTP port + 1 as without the attribute (it is only a hint for reports).
func parseRTCPAttr(v string, media netip.Addr) netip.AddrPort {
	f := strings.Fields(v)
	if len(f) == 0 {
		return netip.AddrPort{}
	}
	port, err := strconv.Atoi(f[0])
	if err != nil || port < 1 || port > 65535 {
		return netip.AddrPort{}
	}
	addr := media
	if len(f) >= 4 && f[1] == "IN" && (f[2] == "IP4" || f[2] == "IP6") {
		a, err := netip.ParseAddr(f[3])
		if err != nil || (f[2] == "IP4") != a.Is4() {
			return netip.AddrPort{}
		}
		addr = a
	} else if len(f) != 1 {
		return netip.AddrPort{}
	}
	if addr.IsUnspecified() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(addr, uint16(port))
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
	formats := []codecPT{{m.Codec, m.PT}}
	if m.ourOffer {
		formats = offerFormats
	}
	var fmts string
	for i, f := range formats {
		if i > 0 {
			fmts += " "
		}
		fmts += strconv.Itoa(int(f.pt))
	}
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
	for _, f := range formats {
		fmt.Fprintf(&b, "a=rtpmap:%d %s\r\n", f.pt, f.codec.rtpmap())
		if f.codec == Opus {
			fmt.Fprintf(&b, "a=fmtp:%d %s\r\n", f.pt, opusFmtp)
		}
	}
	if m.EventPT >= 0 {
		clock := 8000
		if m.eventClock != 0 {
			clock = m.eventClock
		}
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/%d\r\na=fmtp:%d 0-16\r\n", m.EventPT, clock, m.EventPT)
	}
	if m.localKey != nil {
		b.WriteString(cryptoAttr(m.cryptoTag, m.localKey) + "\r\n")
	}
	if m.RTCPMux && !m.ourOffer {
		b.WriteString("a=rtcp-mux\r\n")
	}
	b.WriteString("a=ptime:20\r\na=" + m.Dir.answer() + "\r\n")
	b.WriteString(m.rejectedAfter)
	return []byte(b.String())
}

// codecPT is a codec under a payload type.
type codecPT struct {
	codec Codec
	pt    uint8
}

// offerOpusPT is the payload type of Opus in our own offers.
const offerOpusPT = 111

// offerFormats are the codecs of our own offers, in our order of
// preference (see Negotiate).
var offerFormats = []codecPT{{G722, 9}, {Opus, offerOpusPT}, {PCMU, 0}, {PCMA, 8}}

// opusFmtp are the Opus parameters we announce (RFC 7587 §6.1): we
// decode at 16 kHz, so a sender need not spend bits above it, and we
// like in-band FEC. Mono is the default (stereo=0).
const opusFmtp = "maxplaybackrate=16000;sprop-maxcapturerate=16000;useinbandfec=1"
