package httpserve

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestForwarded(t *testing.T) {
	trusted, err := ParseTrusted([]string{"127.0.0.1", "10.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		remote     string
		headers    map[string]string
		wantRemote string
		wantHost   string
		wantSecure bool
		wantXFF    string
	}{
		{"untrusted peer: headers dropped", "203.0.113.9:5000",
			map[string]string{"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil"},
			"203.0.113.9:5000", "example.org", false, ""},
		{"trusted proxy", "127.0.0.1:5000",
			map[string]string{"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "meet.example.org"},
			"198.51.100.7:0", "meet.example.org", true, "198.51.100.7"},
		{"client forges the left of the chain", "127.0.0.1:5000",
			map[string]string{"X-Forwarded-For": "6.6.6.6, 198.51.100.7"},
			"198.51.100.7:0", "example.org", false, "6.6.6.6, 198.51.100.7"},
		{"two trusted hops", "10.1.1.1:5000",
			map[string]string{"X-Forwarded-For": "198.51.100.7, 10.2.2.2"},
			"198.51.100.7:0", "example.org", false, "198.51.100.7, 10.2.2.2"},
		{"ipv6 proxy, http", "[::1]:5000",
			map[string]string{"X-Forwarded-For": "2001:db8::5", "X-Forwarded-Proto": "http"},
			"[2001:db8::5]:0", "example.org", false, "2001:db8::5"},
		{"trusted proxy, no headers", "127.0.0.1:5000", nil, "127.0.0.1:5000", "example.org", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *http.Request
			h := Forwarded(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r }))
			r := httptest.NewRequest("GET", "/", nil)
			r.Host = "example.org"
			r.RemoteAddr = tt.remote
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got.RemoteAddr != tt.wantRemote {
				t.Errorf("RemoteAddr: got %q, want %q", got.RemoteAddr, tt.wantRemote)
			}
			if got.Host != tt.wantHost {
				t.Errorf("Host: got %q, want %q", got.Host, tt.wantHost)
			}
			if Secure(got) != tt.wantSecure {
				t.Errorf("Secure: got %v, want %v", Secure(got), tt.wantSecure)
			}
			if x := got.Header.Get("X-Forwarded-For"); x != tt.wantXFF {
				t.Errorf("X-Forwarded-For seen downstream: got %q, want %q", x, tt.wantXFF)
			}
		})
	}
}

func TestParseTrusted(t *testing.T) {
	tests := []struct {
		in      []string
		wantErr bool
	}{
		{[]string{"127.0.0.1", "::1", "10.0.0.0/8", "fd00::/8"}, false},
		{[]string{"127.0.0.1", "localhost"}, true},
		{[]string{"10.0.0.0/33"}, true},
	}
	for _, tt := range tests {
		_, err := ParseTrusted(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseTrusted(%q): got %v, want error %v", tt.in, err, tt.wantErr)
		}
	}
}

func FuzzForwarded(f *testing.F) {
	f.Add("1.2.3.4, 10.0.0.1", "https", "meet.example.org")
	f.Add(",,,", "", "")
	trusted, _ := ParseTrusted([]string{"127.0.0.1", "10.0.0.0/8"})
	f.Fuzz(func(t *testing.T, xff, proto, host string) {
		var got *http.Request
		h := Forwarded(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r }))
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "127.0.0.1:1"
		r.Header["X-Forwarded-For"] = []string{xff}
		r.Header["X-Forwarded-Proto"] = []string{proto}
		r.Header["X-Forwarded-Host"] = []string{host}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got == nil {
			t.Fatal("handler not called")
		}
		if _, err := netip.ParseAddrPort(got.RemoteAddr); err != nil {
			t.Errorf("RemoteAddr %q after X-Forwarded-For %q: %v", got.RemoteAddr, xff, err)
		}
	})
}
