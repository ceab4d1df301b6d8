package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dialroom/sip"
)

func TestTrunkList(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // lines that must appear (fields separated by spaces)
		not  []string
	}{
		{"defaults", "", []string{"loopback 127.0.0.0/8,::1 - udp,tcp optional ready", "(others) refused with 403"}, nil},
		{"ip trunk, drop", "sip:\n  drop_unknown: true\n  trust_loopback: false\n  trunks:\n    - {name: carrier, sources: [192.0.2.0/28]}\n",
			[]string{"carrier 192.0.2.0/28 - udp,tcp optional ready", "(others) ignored (sip.drop_unknown)"}, []string{"loopback"}},
		{"password trunk", "sip:\n  trunks:\n    - {name: pbx, username: dr, password: x}\n",
			[]string{"pbx any (password only) digest (407) user dr udp,tcp optional ready", "(others) challenged with 407"}, []string{" x "}},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		if code := run([]string{"trunk", "list", "-config", path}, &out, &errOut); code != exitOK {
			t.Fatalf("%s: exit %d, stderr %q", tt.name, code, errOut.String())
		}
		got := strings.Join(strings.Fields(out.String()), " ")
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: output %q lacks %q", tt.name, out.String(), w)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(got+" ", n) {
				t.Errorf("%s: output %q contains %q", tt.name, out.String(), n)
			}
		}
	}
}

// A registration trunk shows the state the server wrote.
func TestTrunkListRegistrationState(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	yaml := "data_dir: " + dir + "\nsip:\n  trunks:\n" +
		"    - name: reg\n      register: {registrar: \"127.0.0.1:5070\", username: u, password: p}\n" +
		"    - name: down\n      register: {registrar: \"127.0.0.1:5071\", username: u, password: p}\n" +
		"    - name: never\n      register: {registrar: \"127.0.0.1:5072\", username: u, password: p}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	w := newTrunkStateWriter(dir, slog.New(slog.DiscardHandler))
	now := time.Now()
	w.update(sip.TrunkState{Name: "reg", Registered: true, Until: now.Add(time.Hour), Updated: now})
	w.update(sip.TrunkState{Name: "down", LastError: "register: registrar answered 403 Forbidden", Updated: now})
	var out, errOut bytes.Buffer
	if code := run([]string{"trunk", "list", "-config", cfg}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	for _, want := range []string{
		"reg registrar 127.0.0.1:5070 - udp optional registered until " + now.Add(time.Hour).Local().Format(time.DateTime),
		"down registrar 127.0.0.1:5071 - udp optional not registered: register: registrar answered 403 Forbidden",
		"never registrar 127.0.0.1:5072 - udp optional not registered (no state",
	} {
		if got := strings.Join(strings.Fields(out.String()), " "); !strings.Contains(got, want) {
			t.Errorf("output %q lacks %q", out.String(), want)
		}
	}
}

func TestRoomModPIN(t *testing.T) {
	data := t.TempDir()
	var out, errOut bytes.Buffer
	steps := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"room", "add", "team", "-pin", "2468", "-data", data}, exitOK, ""},
		{[]string{"room", "modpin", "team", "-pin", "975310", "-data", data}, exitOK, "set the moderator PIN"},
		{[]string{"room", "modpin", "team", "-pin", "2468", "-data", data}, exitError, "differ"},
		{[]string{"room", "modpin", "team", "-pin", "", "-data", data}, exitOK, "removed"},
		{[]string{"room", "modpin", "-data", data}, exitUsage, "SLUG"},
	}
	for _, st := range steps {
		out.Reset()
		errOut.Reset()
		code := run(st.args, &out, &errOut)
		if code != st.code || !strings.Contains(out.String()+errOut.String(), st.want) {
			t.Errorf("%v: exit %d, output %q %q; want exit %d and %q", st.args, code, out.String(), errOut.String(), st.code, st.want)
		}
		if strings.Contains(out.String()+errOut.String(), "975310") {
			t.Errorf("%v: output shows the PIN", st.args)
		}
	}
}
