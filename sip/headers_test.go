package sip

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func parseReq(t *testing.T, lines ...string) *sip.Request {
	t.Helper()
	raw := strings.Join(lines, "\r\n") + "\r\n\r\n"
	msg, err := sip.NewParser().ParseSIP([]byte(raw))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		t.Fatalf("got %T, want *sip.Request", msg)
	}
	return req
}

const (
	hVia    = "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1"
	hFrom   = "From: <sip:+4930123456@example.com>;tag=a"
	hTo     = "To: <sip:+4940999999@example.com>"
	hCallID = "Call-ID: abc@1"
	hCSeq   = "CSeq: 1 OPTIONS"
)

func TestMissingHeader(t *testing.T) {
	start := "OPTIONS sip:+4940999999@example.com SIP/2.0"
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"complete", []string{start, hVia, hFrom, hTo, hCallID, hCSeq, "Max-Forwards: 70"}, ""},
		{"no max-forwards tolerated", []string{start, hVia, hFrom, hTo, hCallID, hCSeq}, ""},
		{"no call-id", []string{start, hVia, hFrom, hTo, hCSeq}, "Call-ID"},
		{"no from", []string{start, hVia, hTo, hCallID, hCSeq}, "From"},
		{"no to", []string{start, hVia, hFrom, hCallID, hCSeq}, "To"},
		{"no cseq", []string{start, hVia, hFrom, hTo, hCallID}, "CSeq"},
		{"no via", []string{start, hFrom, hTo, hCallID, hCSeq}, "Via"},
		{"cseq method mismatch", []string{start, hVia, hFrom, hTo, hCallID, "CSeq: 1 INVITE"}, "CSeq"},
	}
	for _, tt := range tests {
		if got := missingHeader(parseReq(t, tt.lines...)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCallerNumber(t *testing.T) {
	start := "INVITE sip:+4940999999@example.com SIP/2.0"
	tests := []struct {
		name  string
		extra []string
		from  string
		want  string
	}{
		{"from user", nil, hFrom, "+4930123456"},
		{"pai wins", []string{`P-Asserted-Identity: "Alice" <sip:+4989111222@carrier.example>`}, hFrom, "+4989111222"},
		{"pai tel uri", []string{"P-Asserted-Identity: <tel:+4989111222;cpc=ordinary>"}, hFrom, "+4989111222"},
		{"pai list takes first", []string{"P-Asserted-Identity: <sip:+4989111222@c.example>, <tel:+4989333444>"}, hFrom, "+4989111222"},
		{"anonymous", nil, `From: "Anonymous" <sip:anonymous@anonymous.invalid>;tag=x`, ""},
		{"no user part", nil, "From: <sip:example.com>;tag=x", ""},
		{"garbage pai falls back", []string{"P-Asserted-Identity: nonsense"}, hFrom, "+4930123456"},
		{"rpid", []string{`Remote-Party-ID: "Bob" <sip:+4922133344@gw.example>;party=calling;screen=yes;privacy=off`}, hFrom, "+4922133344"},
		{"pai before rpid", []string{"Remote-Party-ID: <sip:+4922133344@gw.example>;party=calling", "P-Asserted-Identity: <sip:+4989111222@c.example>"}, hFrom, "+4989111222"},
		{"rpid privacy full", []string{"Remote-Party-ID: <sip:+4922133344@gw.example>;party=calling;privacy=full"}, hFrom, ""},
		{"privacy id", []string{"P-Asserted-Identity: <sip:+4989111222@c.example>", "Privacy: id"}, hFrom, ""},
		{"privacy user;critical", []string{"Privacy: user;critical"}, hFrom, ""},
		{"privacy none", []string{"P-Asserted-Identity: <sip:+4989111222@c.example>", "Privacy: none"}, hFrom, "+4989111222"},
		{"restricted", nil, "From: <sip:restricted@carrier.example>;tag=x", ""},
		{"anonymous pai", []string{"P-Asserted-Identity: <sip:anonymous@anonymous.invalid>"}, hFrom, ""},
	}
	for _, tt := range tests {
		lines := append([]string{start, hVia, tt.from, hTo, hCallID, "CSeq: 1 INVITE"}, tt.extra...)
		if got := callerNumber(parseReq(t, lines...)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDialledNumber(t *testing.T) {
	req := parseReq(t, "INVITE sip:+4940999999@example.com SIP/2.0", hVia, hFrom, hTo, hCallID, "CSeq: 1 INVITE")
	if got := dialledNumber(req); got != "+4940999999" {
		t.Errorf("got %q, want %q", got, "+4940999999")
	}
}

// FuzzRequestChecks feeds arbitrary datagrams through sipgo's parser and our
// header checks and caller-ID extraction: none may panic.
func FuzzRequestChecks(f *testing.F) {
	f.Add([]byte("INVITE sip:+4940999999@example.com SIP/2.0\r\n" + hVia + "\r\n" + hFrom + "\r\n" + hTo + "\r\n" +
		hCallID + "\r\nCSeq: 1 INVITE\r\nP-Asserted-Identity: <tel:+4989111222>\r\n\r\n"))
	f.Add([]byte("OPTIONS sip:x SIP/2.0\r\nP-Asserted-Identity: <sip:@>\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		identityUser(string(b))
		msg, err := sip.NewParser().ParseSIP(b)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		if missingHeader(req) == "" {
			callerNumber(req)
			dialledNumber(req)
		}
	})
}
