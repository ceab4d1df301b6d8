package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dialroom/config"
	"dialroom/dialplan"
	"dialroom/sip"
)

// trunk list and the console's list (GET /api/v1/trunks) show each trunk's
// transport and SRTP mode: a registration trunk's own transport, every
// listener for an IP trunk (tls only with sip.tls), the SRTP default
// spelt out; a failed registration shows when it is tried next.
func TestTrunkListTransportAndSRTP(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.yaml")
	yaml := "data_dir: " + dir + "\nsip:\n  tls: {listen: \"127.0.0.1:0\", cert_file: c.pem, key_file: k.pem}\n  trunks:\n" +
		"    - {name: ipsec, sources: [192.0.2.1], srtp: required}\n" +
		"    - name: regtcp\n      register: {registrar: \"192.0.2.2:5060\", username: u, password: p, transport: tcp}\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := trunkCLI(t, "pw\n", "add", "regtls", "-register", "192.0.2.3:5061", "-reg-user", "acct",
		"-reg-transport", "tls", "-reg-password-stdin", "-srtp", "off", "-config", cfgPath); err != nil {
		t.Fatalf("add: %v", err)
	}
	if _, err := trunkCLI(t, "", "add", "plain", "-source", "198.51.100.1", "-config", cfgPath); err != nil {
		t.Fatalf("add: %v", err)
	}
	now := time.Now()
	w := newTrunkStateWriter(dir, slog.New(slog.DiscardHandler))
	w.update(sip.TrunkState{Name: "regtls", LastError: "sip: registrar x does not resolve", Retry: now.Add(time.Hour), Updated: now})

	out, err := trunkCLI(t, "", "list", "-config", cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(strings.Fields(out), " ")
	for _, w := range []string{
		"ipsec 192.0.2.1 - udp,tcp,tls required ready config",
		"regtcp registrar 192.0.2.2:5060 - tcp optional not registered",
		"regtls registrar 192.0.2.3:5061 - tls off not registered: sip: registrar x does not resolve (",
		"; next try " + now.Add(time.Hour).Local().Format(time.DateTime),
		"plain 198.51.100.1 - udp,tcp,tls optional ready stored",
		"loopback 127.0.0.0/8,::1 - udp,tcp,tls optional ready",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("list %q lacks %q", out, w)
		}
	}

	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := dialplan.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := trunkAdmin{trunkLister: trunkLister{dataDir: dir, trunks: cfg.SIP.Trunks}, store: s, tlsOn: cfg.SIP.TLS.On()}
	list, err := a.Trunks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{"ipsec": {"udp,tcp,tls", "required"}, "regtcp": {"tcp", "optional"},
		"regtls": {"tls", "off"}, "plain": {"udp,tcp,tls", "optional"}}
	for _, ti := range list {
		if w := want[ti.Name]; ti.Transport != w[0] || ti.SRTP != w[1] {
			t.Errorf("%s: transport %q srtp %q, want %q %q", ti.Name, ti.Transport, ti.SRTP, w[0], w[1])
		}
		delete(want, ti.Name)
		if ti.Name == "regtls" && !ti.RetryAt.Equal(now.Add(time.Hour)) {
			t.Errorf("regtls retryAt %v, want %v", ti.RetryAt, now.Add(time.Hour))
		}
		if ti.Name != "regtls" && !ti.RetryAt.IsZero() {
			t.Errorf("%s retryAt %v, want none", ti.Name, ti.RetryAt)
		}
	}
	if len(want) != 0 {
		t.Errorf("API list lacks %v", want)
	}

	// Without sip.tls an IP trunk calls over udp and tcp only.
	a.tlsOn = false
	list, err = a.Trunks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range list {
		if ti.Name == "plain" && ti.Transport != "udp,tcp" {
			t.Errorf("plain without sip.tls: transport %q, want udp,tcp", ti.Transport)
		}
	}
	if strings.Contains(out, "pw") {
		t.Errorf("list shows a password: %q", out)
	}
}
