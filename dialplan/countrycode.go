package dialplan

// countryCodeLen returns the length of the ITU-T E.164 country code that
// starts digits (1, 2 or 3 digits). Zone 1 (NANP) and 7 are one digit; the
// assigned two-digit codes are listed; every other code has three digits.
func countryCodeLen(digits string) int {
	if digits[0] == '1' || digits[0] == '7' {
		return 1
	}
	if len(digits) < 2 {
		return len(digits)
	}
	switch digits[:2] {
	case "20", "27",
		"30", "31", "32", "33", "34", "36", "39",
		"40", "41", "43", "44", "45", "46", "47", "48", "49",
		"51", "52", "53", "54", "55", "56", "57", "58",
		"60", "61", "62", "63", "64", "65", "66",
		"81", "82", "84", "86",
		"90", "91", "92", "93", "94", "95", "98":
		return 2
	}
	return 3
}
