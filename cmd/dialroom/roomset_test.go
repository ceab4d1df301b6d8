package main

import (
	"strings"
	"testing"

	"dialroom/dialplan"
)

func TestRoomSet(t *testing.T) {
	data := t.TempDir()
	if code, _, errOut := call("room", "add", "demo", "-pin", "4711", "-data", data); code != 0 {
		t.Fatalf("setup: %s", errOut)
	}
	if code, _, errOut := call("room", "add", "other", "-data", data); code != 0 {
		t.Fatalf("setup: %s", errOut)
	}
	if code, _, errOut := call("room", "set", "other", "-code", "13579", "-data", data); code != 0 {
		t.Fatalf("setup: %s", errOut)
	}
	steps := []struct {
		args     []string
		wantCode int
		wantOut  string // substring of stdout (code 0) or stderr
	}{
		{[]string{"-name", "Vorstand", "-lang", "en"}, 0, `changed room "demo" (title, lang): title "Vorstand", lang en, PIN yes, moderator PIN no`},
		{[]string{"-modpin", "424242"}, 0, "PIN yes, moderator PIN yes"},
		{[]string{"-pin", "5555"}, 0, "(PIN): title \"Vorstand\", lang en, PIN yes, moderator PIN yes"},
		{[]string{"-pin", "424242"}, 1, "dialroom: the moderator PIN must differ from the room's PIN"},
		{[]string{"-lang", "fr"}, 1, `dialroom: language "fr" is not supported (de, en)`},
		{[]string{"-pin", "1234", "-no-pin"}, 2, "dialroom: room set: -pin and -no-pin exclude each other"},
		{nil, 2, "dialroom: room set: nothing to change (see dialroom room set -h)"},
		{[]string{"-no-pin"}, 0, "PIN no, moderator PIN no"},
		{[]string{"-modpin", "7777"}, 1, `dialroom: room "demo" has no PIN: a moderator PIN needs one`},
		{[]string{"-code", "0815"}, 0, `(dial-in code): title "Vorstand", lang en, PIN no, moderator PIN no, dial-in code 0815`},
		{[]string{"-code", "12"}, 1, "dialroom: dial-in code must be 4 to 8 digits"},
		{[]string{"-code", "13579"}, 1, `dialroom: this dial-in code is already used by room "other"`},
	}
	for i, s := range steps {
		args := append([]string{"room", "set", "demo", "-data", data}, s.args...)
		code, out, errOut := call(args...)
		got := out
		if s.wantCode != 0 {
			got = errOut
		}
		if code != s.wantCode || !strings.Contains(got, s.wantOut) {
			t.Fatalf("step %d %q: got exit %d, stdout %q, stderr %q; want %d and %q",
				i, s.args, code, out, errOut, s.wantCode, s.wantOut)
		}
		for _, pin := range []string{"4711", "424242", "5555"} {
			if strings.Contains(out+errOut, pin) {
				t.Errorf("step %d: output reveals a PIN: %q %q", i, out, errOut)
			}
		}
	}
	if code, _, errOut := call("room", "set", "nope", "-lang", "en", "-data", data); code != 1 || errOut != "dialroom: room \"nope\" not found\n" {
		t.Errorf("unknown room: got exit %d, stderr %q", code, errOut)
	}
	s, err := dialplan.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.RoomBySlug(t.Context(), "demo")
	if err != nil || r.Name != "Vorstand" || r.Lang != "en" || r.HasPIN() || r.DialCode != "0815" {
		t.Errorf("store after room set: got %+v, %v; want Vorstand, en, no PIN, code 0815", r, err)
	}
}
