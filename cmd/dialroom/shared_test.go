package main

import (
	"regexp"
	"strings"
	"testing"
)

func TestSharedNumberCLI(t *testing.T) {
	data := t.TempDir()
	steps := []struct {
		args     []string
		wantCode int
		want     string // substring of stdout (code 0) or the stderr line
	}{
		{[]string{"room", "add", "demo", "-pin", "4711"}, 0, `added room "demo"`},
		{[]string{"number", "add", "+4930123456", "-shared", "-lang", "en"}, 0, "added shared number +4930123456 (callers type a dial-in code; prompts in en)\n"},
		{[]string{"number", "add", "+4930777888", "-shared"}, 0, "prompts in de"},
		{[]string{"number", "add", "+4930123456", "-room", "demo"}, 1, "dialroom: number +49 30 ••• 456 is already a shared number\n"},
		{[]string{"number", "add", "+4930999999", "-room", "demo", "-shared"}, 2, "dialroom: number add: -room and -shared exclude each other\n"},
		{[]string{"number", "add", "+4930999999", "-room", "demo", "-lang", "en"}, 2, "dialroom: number add: -lang only goes with -shared (a room number speaks the room's language)\n"},
		{[]string{"number", "add", "+4930999999", "-shared", "-lang", "fr"}, 1, `dialroom: language "fr" is not supported (de, en)` + "\n"},
		{[]string{"number", "list"}, 0, "NUMBER       ROOM\n+4930123456  (shared, en)\n+4930777888  (shared, de)\n"},
	}
	for i, s := range steps {
		code, out, errOut := call(append(s.args, "-data", data)...)
		got := out
		if s.wantCode != 0 {
			got = errOut
		}
		if code != s.wantCode || !strings.Contains(got, s.want) {
			t.Fatalf("step %d %q: got exit %d, stdout %q, stderr %q; want %d and %q", i, s.args, code, out, errOut, s.wantCode, s.want)
		}
	}
	code, out, _ := call("room", "list", "-data", data)
	if code != 0 || !regexp.MustCompile(`(?m)^SLUG +NAME +LANG +PIN +NUMBERS +CODE\ndemo +demo +de +yes +- +[1-9][0-9]{5}\n$`).MatchString(out) {
		t.Errorf("room list: got exit %d, %q; want demo with a 6-digit dial-in code", code, out)
	}
}
