package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dialroom/dialplan"
)

// call runs the CLI in-process and returns exit code, stdout and stderr.
func call(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelp(t *testing.T) {
	tests := [][]string{
		{"help"}, {"-h"}, {"--help"},
		{"help", "room"}, {"help", "room", "add"}, {"help", "number", "rm"}, {"help", "serve"},
		{"room"}, {"room", "help"}, {"room", "-h"}, {"number", "--help"},
		{"room", "add", "-h"}, {"room", "add", "--help"}, {"room", "add", "help"},
		{"room", "add", "demo", "-h"}, {"room", "list", "-h"}, {"room", "rm", "--help"},
		{"number", "add", "-h"}, {"number", "list", "help"}, {"number", "rm", "-h"},
		{"serve", "-h"}, {"serve", "--help"}, {"serve", "help"}, {"version", "-h"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errOut := call(args...)
			if code != 0 || !strings.Contains(out, "Usage") || errOut != "" {
				t.Errorf("got exit %d, stdout %q, stderr %q; want 0, usage, nothing", code, out, errOut)
			}
		})
	}
	_, out, _ := call("help", "room", "add")
	if !strings.Contains(out, "-pin") || !strings.Contains(out, "-lang") {
		t.Errorf("room add usage: got %q, want it to mention -pin and -lang", out)
	}
}

func TestVersion(t *testing.T) {
	code, out, errOut := call("version")
	if code != 0 || !strings.HasPrefix(out, "dialroom "+version+"\n") || !strings.Contains(out, "revision:") || errOut != "" {
		t.Errorf("got %d %q %q, want 0, %q and the build info", code, out, errOut, "dialroom "+version+"\n")
	}
}

func TestAdminCommands(t *testing.T) {
	data := t.TempDir()
	steps := []struct {
		args    []string
		wantOut string // substring of stdout
	}{
		{[]string{"room", "add", "demo", "-pin", "4711", "-data", data}, `added room "demo" (title "demo", lang de, PIN yes)`},
		{[]string{"room", "add", "-data", data, "-lang", "en", "team", "-name", "The Team"}, `added room "team" (title "The Team", lang en, PIN no)`},
		{[]string{"room", "add", "-data=" + data, "--", "x-1"}, `added room "x-1"`},
		{[]string{"number", "add", "0049 30 123456", "-room", "demo", "-data", data}, `added number +4930123456 to room "demo"`},
		{[]string{"number", "add", "-room", "demo", "-data", data, "tel:+49-30-999999"}, `added number +4930999999 to room "demo"`},
		{[]string{"number", "add", "-data", data, "-room=team", "+44 20 7946 0000"}, `added number +442079460000 to room "team"`},
		{[]string{"room", "list", "-data", data}, "demo  demo      de    yes  +4930123456,+4930999999  "},
		{[]string{"room", "list", "-data", data}, "team  The Team  en    no   +442079460000  "},
		{[]string{"room", "list", "-data", data}, "x-1   x-1       de    no   -  "},
		{[]string{"number", "list", "-data", data}, "NUMBER         ROOM\n+442079460000  team\n+4930123456    demo\n+4930999999    demo\n"},
		{[]string{"number", "rm", "4930999999", "-data", data}, "removed number +4930999999\n"},
		{[]string{"room", "rm", "team", "-data", data}, "removed room \"team\"\n"},
		{[]string{"number", "list", "-data", data}, "NUMBER       ROOM\n+4930123456  demo\n"},
	}
	for i, s := range steps {
		code, out, errOut := call(s.args...)
		if code != 0 || errOut != "" || !strings.Contains(out, s.wantOut) {
			t.Fatalf("step %d %q: got exit %d, stdout %q, stderr %q; want 0 and stdout containing %q",
				i, s.args, code, out, errOut, s.wantOut)
		}
		if strings.Contains(out, "4711") {
			t.Errorf("step %d: stdout %q reveals the PIN", i, out)
		}
	}
	s, err := dialplan.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.RoomForNumber(context.Background(), "+4930123456")
	if err != nil || r.Slug != "demo" || !dialplan.CheckPIN(r.PINHash, "4711") {
		t.Errorf("store after CLI: got %+v, %v; want room demo with PIN 4711", r, err)
	}
}

func TestBadInput(t *testing.T) {
	data := t.TempDir()
	if code, _, errOut := call("room", "add", "demo", "-data", data); code != 0 {
		t.Fatalf("setup: %s", errOut)
	}
	tests := []struct {
		args     []string
		wantCode int
		wantErr  string // the one line on stderr
	}{
		{nil, 2, "dialroom: no command (see dialroom help)"},
		{[]string{"bogus"}, 2, `dialroom: unknown command "bogus" (see dialroom help)`},
		{[]string{"room", "bogus"}, 2, `dialroom: unknown command "room bogus" (see dialroom help room)`},
		{[]string{"help", "bogus"}, 2, `dialroom: unknown command "bogus" (see dialroom help)`},
		{[]string{"room", "add", "-data", data}, 2, "dialroom: room add: missing SLUG (see dialroom room add -h)"},
		{[]string{"room", "add", "a", "b", "-data", data}, 2, `dialroom: room add: unexpected argument "b" (see dialroom room add -h)`},
		{[]string{"room", "add", "a", "-x", "-data", data}, 2, "dialroom: room add: flag provided but not defined: -x"},
		{[]string{"room", "add", "a", "-pin"}, 2, "dialroom: room add: flag needs an argument: -pin"},
		{[]string{"room", "add", "demo", "-data", data}, 1, `dialroom: room "demo" already exists`},
		{[]string{"room", "add", "b", "-pin", "12", "-data", data}, 1, "dialroom: PIN must be 4 to 12 digits"},
		{[]string{"room", "add", "b", "-lang", "fr", "-data", data}, 1, `dialroom: language "fr" is not supported (de, en)`},
		{[]string{"room", "add", "B!", "-data", data}, 1, `dialroom: room name "B!" may contain only a-z, 0-9 and -`},
		{[]string{"room", "rm", "nope", "-data", data}, 1, `dialroom: room "nope" not found`},
		{[]string{"room", "rm", "-data", data}, 2, "dialroom: room rm: missing SLUG (see dialroom room rm -h)"},
		{[]string{"room", "list", "extra", "-data", data}, 2, `dialroom: room list: unexpected argument "extra" (see dialroom room list -h)`},
		{[]string{"number", "add", "+4930123456", "-data", data}, 2, "dialroom: number add: missing -room SLUG (see dialroom number add -h)"},
		{[]string{"number", "add", "-room", "demo", "-data", data}, 2, "dialroom: number add: missing NUMBER (see dialroom number add -h)"},
		{[]string{"number", "add", "030123456", "-room", "demo", "-data", data}, 1, "dialroom: phone number needs a country code (+49…, 0049… or 49…)"},
		{[]string{"number", "add", "+4930123456", "-room", "nope", "-data", data}, 1, `dialroom: room "nope" not found`},
		{[]string{"number", "rm", "+4930123456", "-data", data}, 1, "dialroom: number +49 30 ••• 456 not found"},
		{[]string{"number", "rm", "abc", "-data", data}, 1, "dialroom: phone number may contain only digits, + and separators"},
		{[]string{"version", "x"}, 2, `dialroom: version: unexpected argument "x" (see dialroom version -h)`},
		{[]string{"serve", "x"}, 2, `dialroom: serve: unexpected argument "x" (see dialroom serve -h)`},
		{[]string{"serve", "-sip", "nope"}, 2, `dialroom: serve: sip.listen: "nope" is not host:port`},
		{[]string{"serve", "-http", ":99999"}, 2, `dialroom: serve: http.listen: ":99999" has no valid port number`},
		{[]string{"room", "list", "-config", filepath.Join(data, "missing.yaml")}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := call(tt.args...)
			if code != tt.wantCode {
				t.Errorf("got exit %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			if strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "dialroom: ") {
				t.Errorf("got stderr %q, want one line starting with dialroom:", errOut)
			}
			if tt.wantErr != "" && errOut != tt.wantErr+"\n" {
				t.Errorf("got stderr %q, want %q", errOut, tt.wantErr)
			}
			if out != "" {
				t.Errorf("got stdout %q, want nothing", out)
			}
		})
	}
}

func TestDataDirFromConfig(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "from-config")
	cfg := filepath.Join(dir, "dialroom.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: "+data+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := call("room", "add", "cfg", "-config", cfg); code != 0 {
		t.Fatalf("room add with -config: exit %d, %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(data, dialplan.DBFile)); err != nil {
		t.Errorf("want the database in data_dir: %v", err)
	}
	other := filepath.Join(dir, "flag")
	if code, _, errOut := call("room", "add", "flag", "-config", cfg, "-data", other); code != 0 {
		t.Fatalf("room add with -data: exit %d, %s", code, errOut)
	}
	code, out, _ := call("room", "list", "-data", other)
	if code != 0 || !strings.Contains(out, "flag") || strings.Contains(out, "cfg") {
		t.Errorf("-data overrides data_dir: got exit %d, %q; want only room flag", code, out)
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args    []string
		wantPos string
		wantPIN string
	}{
		{[]string{"demo", "-pin", "1234"}, "demo", "1234"},
		{[]string{"-pin", "1234", "demo"}, "demo", "1234"},
		{[]string{"a", "-pin=1234", "b"}, "a b", "1234"},
		{[]string{"-pin", "1", "--", "-x", "y"}, "-x y", "1"},
		{nil, "", ""},
	}
	for _, tt := range tests {
		_, fs := newTestFlags()
		pos, err := parseArgs(fs, tt.args)
		if err != nil {
			t.Fatalf("parseArgs(%q): %v", tt.args, err)
		}
		if got := strings.Join(pos, " "); got != tt.wantPos || fs.Lookup("pin").Value.String() != tt.wantPIN {
			t.Errorf("parseArgs(%q): got %q pin %q, want %q pin %q", tt.args, got, fs.Lookup("pin").Value.String(), tt.wantPos, tt.wantPIN)
		}
	}
}
