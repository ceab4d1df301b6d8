package dialplan

import (
	"unicode"
	"unicode/utf8"
)

// Limits on admin input.
const (
	MaxSlugLen = 64  // characters in a room slug
	MaxNameLen = 200 // characters in a room title
	MinPINLen  = 4   // digits
	MaxPINLen  = 12  // digits; the IVR's default MaxDigits
)

// ValidateSlug checks a room slug: 1-64 characters of a-z, 0-9 and '-',
// not starting or ending with '-'.
func ValidateSlug(slug string) error {
	if slug == "" || len(slug) > MaxSlugLen {
		return invalidf("room name must be 1 to %d characters", MaxSlugLen)
	}
	for _, c := range []byte(slug) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return invalidf("room name %q may contain only a-z, 0-9 and -", slug)
		}
	}
	if slug[0] == '-' || slug[len(slug)-1] == '-' {
		return invalidf("room name %q must not start or end with -", slug)
	}
	return nil
}

// ValidatePIN checks a PIN: 4 to 12 digits. The message never contains the PIN.
func ValidatePIN(pin string) error {
	if len(pin) < MinPINLen || len(pin) > MaxPINLen {
		return invalidf("PIN must be %d to %d digits", MinPINLen, MaxPINLen)
	}
	for _, c := range []byte(pin) {
		if c < '0' || c > '9' {
			return invalidf("PIN must be %d to %d digits", MinPINLen, MaxPINLen)
		}
	}
	return nil
}

// ValidateLang checks a prompt language: "de" or "en".
func ValidateLang(lang string) error {
	if lang != "de" && lang != "en" {
		return invalidf("language %q is not supported (de, en)", lang)
	}
	return nil
}

func validateName(name string) error {
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLen {
		return invalidf("room title must be valid text of at most %d characters", MaxNameLen)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return invalidf("room title must not contain control characters")
		}
	}
	return nil
}
