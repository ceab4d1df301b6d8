package config

import (
	"strings"
	"testing"
	"time"
)

func TestAuthConfig(t *testing.T) {
	const ldapOK = "auth:\n  ldap:\n    url: ldaps://dc1.example.com\n    base_dn: ou=people,dc=example,dc=com\n"
	c, err := Parse([]byte(ldapOK))
	if err != nil {
		t.Fatalf("valid ldap block: %v", err)
	}
	if l := c.Auth.LDAP.WithDefaults(); l.UserAttribute != "uid" || l.Timeout != 5*time.Second || l.Roles.Others != "user" || l.GroupAttribute != "memberOf" {
		t.Errorf("ldap defaults: got %+v", l)
	}
	const oidcOK = "auth:\n  oidc:\n    issuer: https://sso.example.com/realms/acme\n    client_id: dialroom\n    redirect_url: https://meet.example.com/login/oidc/callback\n"
	if _, err := Parse([]byte(oidcOK)); err != nil {
		t.Fatalf("valid oidc block: %v", err)
	}
	tests := []struct {
		name, yaml, want string
	}{
		{"ldap scheme", "auth:\n  ldap:\n    url: http://dc1\n    base_dn: dc=x\n", "auth.ldap.url:"},
		{"ldaps with starttls", "auth:\n  ldap:\n    url: ldaps://dc1\n    start_tls: true\n    base_dn: dc=x\n", "auth.ldap.start_tls:"},
		{"no base", "auth:\n  ldap:\n    url: ldap://dc1\n", "auth.ldap.base_dn:"},
		{"bad filter", "auth:\n  ldap:\n    url: ldap://dc1\n    base_dn: dc=x\n    user_filter: (objectClass=person\n", "auth.ldap.user_filter:"},
		{"two filters", "auth:\n  ldap:\n    url: ldap://dc1\n    base_dn: dc=x\n    user_filter: (a=b)(c=d)\n", "auth.ldap.user_filter:"},
		{"group filter without dn", "auth:\n  ldap:\n    url: ldap://dc1\n    base_dn: dc=x\n    group_base_dn: ou=g\n    group_filter: (member=x)\n", "auth.ldap.group_filter:"},
		{"bad attribute", "auth:\n  ldap:\n    url: ldap://dc1\n    base_dn: dc=x\n    user_attribute: \"uid)(x\"\n", "auth.ldap.user_attribute:"},
		{"others", "auth:\n  ldap:\n    url: ldap://dc1\n    base_dn: dc=x\n    roles:\n      others: guest\n", "auth.ldap.roles.others:"},
		{"both passwords", "auth:\n  ldap:\n    url: ldap://dc1\n    base_dn: dc=x\n    bind_password: a\n    bind_password_file: /b\n", "auth.ldap.bind_password_file:"},
		{"timeout", "auth:\n  ldap:\n    url: ldap://dc1\n    base_dn: dc=x\n    timeout: 2h\n", "auth.ldap.timeout:"},
		{"unknown key", "auth:\n  ldap:\n    uri: ldap://dc1\n", "field uri not found"},
		{"oidc issuer", "auth:\n  oidc:\n    issuer: sso.example.com\n    client_id: x\n    redirect_url: https://m/login/oidc/callback\n", "auth.oidc.issuer:"},
		{"oidc client", "auth:\n  oidc:\n    issuer: https://sso\n    redirect_url: https://m/login/oidc/callback\n", "auth.oidc.client_id:"},
		{"oidc redirect path", "auth:\n  oidc:\n    issuer: https://sso\n    client_id: x\n    redirect_url: https://m/callback\n", "auth.oidc.redirect_url:"},
		{"oidc empty group", "auth:\n  oidc:\n    issuer: https://sso\n    client_id: x\n    redirect_url: https://m/login/oidc/callback\n    roles:\n      admin: [\"\"]\n", "auth.oidc.roles.admin[0]:"},
	}
	for _, tt := range tests {
		if _, err := Parse([]byte(tt.yaml)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error starting %q", tt.name, err, tt.want)
		}
	}
}
