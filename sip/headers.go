package sip

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// missingHeader returns the name of the first header RFC 3261 §8.1.1 requires
// that req lacks, or "" when all are there. Max-Forwards is tolerated when
// absent (RFC 2543 peers, RFC 4475 §3.4.1) and when 0: we are the final UAS.
func missingHeader(req *sip.Request) string {
	switch {
	case req.Via() == nil:
		return "Via"
	case req.CallID() == nil || strings.TrimSpace(req.CallID().Value()) == "":
		return "Call-ID"
	case req.From() == nil:
		return "From"
	case req.To() == nil:
		return "To"
	case req.CSeq() == nil:
		return "CSeq"
	case req.CSeq().MethodName != req.Method:
		return "CSeq" // RFC 3261 §8.1.1.5: the method must match the request line
	}
	return ""
}

// callerNumber returns the caller's number as the trunk presented it:
// P-Asserted-Identity (RFC 3325) first, else Remote-Party-ID (the older
// draft many carriers still send), else the From user part. Withheld
// numbers give "": "anonymous"/"unknown"/"restricted" users, a Privacy
// header asking for id, user or header privacy (RFC 3323 §4.2, RFC 3325
// §9.3), and a Remote-Party-ID with privacy=full or uri.
func callerNumber(req *sip.Request) string {
	if withheld(req) {
		return ""
	}
	user := ""
	if h := req.GetHeader("P-Asserted-Identity"); h != nil {
		user = identityUser(h.Value())
	}
	if h := req.GetHeader("Remote-Party-ID"); user == "" && h != nil {
		user = identityUser(h.Value())
	}
	if user == "" {
		if f := req.From(); f != nil {
			user = f.Address.User
		}
	}
	switch strings.ToLower(user) {
	case "anonymous", "unknown", "restricted", "unavailable", "private", "withheld":
		return ""
	}
	return user
}

// withheld reports whether the caller asked for the number not to be shown.
func withheld(req *sip.Request) bool {
	if h := req.GetHeader("Privacy"); h != nil {
		for _, p := range strings.FieldsFunc(strings.ToLower(h.Value()), func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
			if p == "id" || p == "user" || p == "header" {
				return true
			}
		}
	}
	if h := req.GetHeader("Remote-Party-ID"); h != nil && req.GetHeader("P-Asserted-Identity") == nil {
		v := strings.ToLower(h.Value())
		if i := strings.IndexByte(v, '>'); i >= 0 {
			v = v[i:]
		}
		return strings.Contains(v, "privacy=full") || strings.Contains(v, "privacy=uri")
	}
	return false
}

// identityUser extracts the user part (or telephone number) of the first
// URI in a P-Asserted-Identity value: sip:, sips: or tel: (RFC 3966).
func identityUser(v string) string {
	v, _, _ = strings.Cut(v, ",")
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	v = strings.TrimSpace(v)
	scheme, rest, ok := strings.Cut(v, ":")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "sip", "sips":
		user, _, found := strings.Cut(rest, "@")
		if !found {
			return ""
		}
		user, _, _ = strings.Cut(user, ";")
		return user
	case "tel":
		num, _, _ := strings.Cut(rest, ";")
		return num
	}
	return ""
}

// dialledNumber is the number the caller dialled: the Request-URI user part,
// else the To user part.
func dialledNumber(req *sip.Request) string {
	if u := req.Recipient.User; u != "" {
		return u
	}
	if t := req.To(); t != nil {
		return t.Address.User
	}
	return ""
}
