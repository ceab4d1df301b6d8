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
// P-Asserted-Identity (RFC 3325) first, else the From user part. Withheld
// numbers ("anonymous", empty) give "".
func callerNumber(req *sip.Request) string {
	user := ""
	if h := req.GetHeader("P-Asserted-Identity"); h != nil {
		user = identityUser(h.Value())
	}
	if user == "" {
		if f := req.From(); f != nil {
			user = f.Address.User
		}
	}
	if strings.EqualFold(user, "anonymous") || strings.EqualFold(user, "unknown") {
		return ""
	}
	return user
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
