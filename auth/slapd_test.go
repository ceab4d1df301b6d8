package auth

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"dialroom/internal/testcert"
)

// The test directory's tree. Passwords are stored in clear text, which
// slapd accepts for simple binds; it is a throw-away server.
const (
	testSuffix   = "dc=example,dc=com"
	testRootDN   = "cn=root," + testSuffix
	testRootPW   = "root-secret"
	testSvcDN    = "cn=dialroom,ou=services," + testSuffix
	testSvcPW    = "service-secret"
	testPeople   = "ou=people," + testSuffix
	testGroups   = "ou=groups," + testSuffix
	testAdmins   = "cn=dialroom-admins," + testGroups
	testMods     = "cn=dialroom-moderators," + testGroups
	testUnmapped = "cn=staff," + testGroups
)

// testUsers are the people in the test directory: name -> password.
var testUsers = map[string]string{
	"alice": "alice-password-1", // admin
	"bob":   "bob-password-2",   // moderator
	"carol": "carol-password-3", // only in an unmapped group
}

// slapd is a running test directory.
type slapd struct {
	URL, TLSURL string // ldap:// and ldaps:// on 127.0.0.1
	CAFile      string // the self-signed certificate slapd presents
	MemberOf    bool   // the memberof overlay is loaded
	dir         string
	cmd         *exec.Cmd
	done        chan struct{}
	stopOnce    sync.Once
}

// startSlapd builds a cn=config for an mdb database in a temporary
// directory, starts slapd on two free loopback ports, waits until it
// answers, and loads the test users and groups with ldapadd. It is stopped
// when the test ends.
func startSlapd(t *testing.T) *slapd {
	t.Helper()
	for _, bin := range []string{"slapd", "slapadd", "ldapadd"} {
		if _, err := exec.LookPath(bin); err != nil {
			if _, err2 := os.Stat("/usr/sbin/" + bin); err2 != nil {
				t.Skipf("%s not installed (Debian packages slapd, ldap-utils; the Makefile installs them)", bin)
			}
		}
	}
	dir := t.TempDir()
	certFile, keyFile := testcert.Write(t, dir, "127.0.0.1")
	s := &slapd{dir: dir, CAFile: certFile, done: make(chan struct{})}
	_, err := os.Stat("/usr/lib/ldap/memberof.so")
	s.MemberOf = err == nil
	for _, d := range []string{"slapd.d", "db"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "config.ldif"), configLDIF(dir, certFile, keyFile, s.MemberOf))
	run(t, "/usr/sbin/slapadd", "-n", "0", "-F", filepath.Join(dir, "slapd.d"), "-l", filepath.Join(dir, "config.ldif"))

	port, tlsPort := freePort(t), freePort(t)
	s.URL = fmt.Sprintf("ldap://127.0.0.1:%d", port)
	s.TLSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", tlsPort)
	var out bytes.Buffer
	// -d 0 keeps slapd in the foreground without debug output.
	s.cmd = exec.Command("/usr/sbin/slapd", "-d", "0", "-F", filepath.Join(dir, "slapd.d"),
		"-h", s.URL+"/ "+s.TLSURL+"/")
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start slapd: %v", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)

	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := ldap.DialURL(s.URL)
		if err == nil {
			err = conn.Bind(testRootDN, testRootPW)
			_ = conn.Close()
			if err == nil {
				break
			}
		}
		select {
		case <-s.done:
			t.Fatalf("slapd exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("slapd did not answer within 20s: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not synchronisation
	}
	writeFile(t, filepath.Join(dir, "data.ldif"), dataLDIF())
	run(t, "ldapadd", "-x", "-H", s.URL, "-D", testRootDN, "-w", testRootPW, "-f", filepath.Join(dir, "data.ldif"))
	return s
}

// stop ends slapd and waits for it; it is idempotent.
func (s *slapd) stop() {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
}

func configLDIF(dir, certFile, keyFile string, memberOf bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: %[1]s/slapd.pid
olcTLSCertificateFile: %[2]s
olcTLSCertificateKeyFile: %[3]s

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
`, dir, certFile, keyFile)
	if memberOf {
		b.WriteString("olcModuleLoad: memberof\n")
	}
	fmt.Fprintf(&b, `
dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

include: file:///etc/ldap/schema/cosine.ldif

include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: %[1]s/db
olcDbMaxSize: 16777216
olcSuffix: %[2]s
olcRootDN: %[3]s
olcRootPW: %[4]s
olcAccess: {0}to attrs=userPassword by anonymous auth by * none
olcAccess: {1}to * by users read by * none
`, dir, testSuffix, testRootDN, testRootPW)
	if memberOf {
		b.WriteString(`
dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefInt: FALSE
`)
	}
	return b.String()
}

func dataLDIF() string {
	var b strings.Builder
	fmt.Fprintf(&b, `dn: %s
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=services,%[1]s
objectClass: organizationalUnit
ou: services

dn: %[2]s
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: dialroom
userPassword: %[3]s

dn: %[4]s
objectClass: organizationalUnit
ou: people

dn: %[5]s
objectClass: organizationalUnit
ou: groups
`, testSuffix, testSvcDN, testSvcPW, testPeople, testGroups)
	for _, u := range []string{"alice", "bob", "carol"} {
		fmt.Fprintf(&b, `
dn: uid=%[1]s,%[2]s
objectClass: inetOrgPerson
uid: %[1]s
cn: %[3]s Example
sn: Example
displayName: %[3]s Example
mail: %[1]s@example.com
userPassword: %[4]s
`, u, testPeople, strings.ToUpper(u[:1])+u[1:], testUsers[u])
	}
	for dn, members := range map[string][]string{testAdmins: {"alice"}, testMods: {"bob", "alice"}, testUnmapped: {"carol", "bob"}} {
		cn, _, _ := strings.Cut(strings.TrimPrefix(dn, "cn="), ",")
		fmt.Fprintf(&b, "\ndn: %s\nobjectClass: groupOfNames\ncn: %s\n", dn, cn)
		for _, m := range members {
			fmt.Fprintf(&b, "member: uid=%s,%s\n", m, testPeople)
		}
	}
	return b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}
