package dialplan

import "strings"

// E.164 limits: a number has at most 15 digits; shorter than 6 is not a
// dialable international number.
const (
	minNumberDigits = 6
	maxNumberDigits = 15
)

// NormalizeNumber returns s in E.164 form ("+4930123456"). It accepts
// "+49…", "0049…" and "49…" (international without prefix), optionally
// inside a tel:, sip: or sips: URI (the user part is taken; "@host" and
// ";params" are dropped), with visual separators (space - . ( )). It
// rejects letters, national numbers ("030…") and lengths outside 6-15
// digits. The error wraps ErrInvalid and never repeats the input.
func NormalizeNumber(s string) (string, error) {
	s = stripURI(strings.TrimSpace(s))
	var b strings.Builder
	b.Grow(len(s) + 1)
	plus := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == '+' && i == 0:
			plus = true
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", invalidf("phone number may contain only digits, + and separators")
		}
	}
	digits := b.String()
	if !plus {
		switch {
		case strings.HasPrefix(digits, "00"):
			digits = digits[2:]
		case strings.HasPrefix(digits, "0"):
			return "", invalidf("phone number needs a country code (+49…, 0049… or 49…)")
		}
	}
	if digits == "" || digits[0] == '0' {
		return "", invalidf("phone number needs a country code (+49…, 0049… or 49…)")
	}
	if len(digits) < minNumberDigits || len(digits) > maxNumberDigits {
		return "", invalidf("phone number must have %d to %d digits", minNumberDigits, maxNumberDigits)
	}
	return "+" + digits, nil
}

// stripURI removes a tel:/sip:/sips: scheme, an "@host" part and ";params".
func stripURI(s string) string {
	lower := strings.ToLower(s)
	for _, scheme := range []string{"tel:", "sip:", "sips:"} {
		if strings.HasPrefix(lower, scheme) {
			s = s[len(scheme):]
			break
		}
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	return s
}

// UnknownCaller is what MaskNumber shows for a missing or unusable number.
const UnknownCaller = "Unknown caller"

// MaskNumber returns a form of a phone number safe to show in the UI, e.g.
// "+4930123456" -> "+49 30 ••• 456": the country code, the next 2 digits
// and the last 3, fewer when the number is short, so that never more than
// half (+1) of the national digits show and at least 2 stay hidden. ""/"anonymous"/anything that is
// not a number gives UnknownCaller.
func MaskNumber(e164 string) string {
	n, err := NormalizeNumber(e164)
	if err != nil {
		return UnknownCaller
	}
	digits := n[1:]
	cc := digits[:countryCodeLen(digits)]
	national := digits[len(cc):]
	// Show at most half (+1) of the national digits and hide at least 2.
	budget := max(0, min(len(national)/2+1, len(national)-2))
	area := min(2, budget)
	last := min(3, budget-area)
	var b strings.Builder
	b.WriteString("+" + cc + " ")
	if area > 0 {
		b.WriteString(national[:area] + " ")
	}
	b.WriteString("•••")
	if last > 0 {
		b.WriteString(" " + national[len(national)-last:])
	}
	return b.String()
}
