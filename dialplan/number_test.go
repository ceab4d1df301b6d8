package dialplan

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeNumber(t *testing.T) {
	tests := []struct {
		in, want string // want "" = error
	}{
		{"+4930123456", "+4930123456"},
		{"004930123456", "+4930123456"},
		{"4930123456", "+4930123456"},
		{"+49 30 123456", "+4930123456"},
		{"+49 (30) 123-456", "+4930123456"},
		{"+49.30.123.456", "+4930123456"},
		{"  +4930123456  ", "+4930123456"},
		{"tel:+49-30-123456", "+4930123456"},
		{"tel:+4930123456;phone-context=example.com", "+4930123456"},
		{"sip:+4930123456@trunk.example.com", "+4930123456"},
		{"sip:4930123456@127.0.0.1:5060;user=phone", "+4930123456"},
		{"SIPS:004930123456@host", "+4930123456"},
		{"sip:+4930123456;npdi@host", "+4930123456"},
		{"+12125550123", "+12125550123"},
		{"+123456", "+123456"},
		{"+123456789012345", "+123456789012345"},
		{"030123456", ""},
		{"0", ""},
		{"", ""},
		{"+", ""},
		{"tel:", ""},
		{"+12345", ""},
		{"+1234567890123456", ""},
		{"+4930abc", ""},
		{"anonymous", ""},
		{"sip:anonymous@anonymous.invalid", ""},
		{"+49+30123456", ""},
		{"++4930123456", ""},
		{"+04930123456", ""},
		{"000049301234", ""},
		{"http:+4930123456", ""},
		{"+49\t30123456", ""},
		{"+４930123456", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeNumber(tt.in)
		if tt.want == "" {
			if err == nil || !errors.Is(err, ErrInvalid) {
				t.Errorf("NormalizeNumber(%q) = %q, %v; want an ErrInvalid error", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeNumber(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizeNumberErrorHidesInput(t *testing.T) {
	_, err := NormalizeNumber("030987654321x")
	if err == nil || strings.Contains(err.Error(), "987654") {
		t.Errorf("got error %v, want one that does not repeat the number", err)
	}
}

func TestMaskNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+4930123456", "+49 30 ••• 456"},
		{"+493012345678", "+49 30 ••• 678"},
		{"+12125550123", "+1 21 ••• 123"},
		{"+353123456", "+353 12 ••• 56"},
		{"+491234", "+49 12 •••"},
		{"+3531234567890", "+353 12 ••• 890"},
		{"sip:4930123456@host", "+49 30 ••• 456"},
		{"", UnknownCaller},
		{"anonymous", UnknownCaller},
		{"Anonymous <sip:anonymous@anonymous.invalid>", UnknownCaller},
		{"030123456", UnknownCaller},
	}
	for _, tt := range tests {
		if got := MaskNumber(tt.in); got != tt.want {
			t.Errorf("MaskNumber(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// revealed counts the digits of the national number that a mask shows.
func revealed(mask string) int {
	shown := 0
	for _, p := range strings.Fields(mask)[1:] {
		if p != "•••" {
			shown += len(p)
		}
	}
	return shown
}

func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{"+4930123456", "004930123456", "tel:+49-30-123456;x=y", "sip:4930@h", "030123", "anonymous", "+1 (212) 555-0123", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormalizeNumber(s)
		mask := MaskNumber(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("NormalizeNumber(%q): got error %v, want one wrapping ErrInvalid", s, err)
			}
			if mask != UnknownCaller {
				t.Errorf("MaskNumber(%q) = %q, want %q", s, mask, UnknownCaller)
			}
			return
		}
		if len(n) < 7 || len(n) > 16 || n[0] != '+' || n[1] == '0' {
			t.Fatalf("NormalizeNumber(%q) = %q, want +<6-15 digits>", s, n)
		}
		for _, c := range n[1:] {
			if c < '0' || c > '9' {
				t.Fatalf("NormalizeNumber(%q) = %q, want digits only", s, n)
			}
		}
		if again, err := NormalizeNumber(n); err != nil || again != n {
			t.Errorf("NormalizeNumber(%q) = %q, %v; want it unchanged", n, again, err)
		}
		cc := countryCodeLen(n[1:])
		shown := revealed(mask)
		if national := len(n) - 1 - cc; shown > national/2+1 || shown > national-2 {
			t.Errorf("MaskNumber(%q) = %q shows %d of %d national digits", s, mask, shown, national)
		}
	})
}
