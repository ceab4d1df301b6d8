package httpserve

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// forwardedHeaders are removed from every request from an address that is
// not a trusted proxy, so nothing downstream can be fooled by them.
var forwardedHeaders = []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip", "Forwarded"}

// ParseTrusted parses proxy addresses: IPs ("127.0.0.1", "::1") or
// prefixes ("10.0.0.0/8"). Each problem names the entry's index.
func ParseTrusted(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy [%d]: %q is neither an IP nor an IP/prefix", i, s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

type secureKey struct{}

// Secure reports whether the browser reached us over HTTPS: directly, or
// through a trusted proxy that said so in X-Forwarded-Proto.
func Secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	s, _ := r.Context().Value(secureKey{}).(bool)
	return s
}

// Forwarded applies X-Forwarded-For, -Proto and -Host only when the
// request comes from one of trusted: RemoteAddr becomes the client's
// address (the rightmost X-Forwarded-For entry that is not itself a trusted
// proxy, port 0), Host the forwarded host (the WebSocket origin check
// compares against it), and Secure reports the forwarded scheme. From any
// other address the headers are deleted.
func Forwarded(trusted []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, ok := remoteIP(r.RemoteAddr)
		if !ok || !contains(trusted, peer) {
			for _, h := range forwardedHeaders {
				r.Header.Del(h)
			}
			next.ServeHTTP(w, r)
			return
		}
		r = r.Clone(r.Context())
		if client, ok := clientIP(r.Header.Values("X-Forwarded-For"), trusted); ok {
			r.RemoteAddr = netip.AddrPortFrom(client, 0).String()
		}
		if h := lastValue(r.Header.Get("X-Forwarded-Host")); h != "" {
			r.Host = h
		}
		if strings.EqualFold(lastValue(r.Header.Get("X-Forwarded-Proto")), "https") {
			r = r.WithContext(context.WithValue(r.Context(), secureKey{}, true))
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP walks the X-Forwarded-For chain from the right (the entry our
// trusted proxy appended) and returns the first address that is not a
// trusted proxy; entries left of it could be forged by the client.
func clientIP(values []string, trusted []netip.Prefix) (netip.Addr, bool) {
	var chain []string
	for _, v := range values {
		chain = append(chain, strings.Split(v, ",")...)
	}
	var last netip.Addr
	for i := len(chain) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(chain[i]))
		if err != nil {
			break
		}
		last = a.Unmap()
		if !contains(trusted, last) {
			return last, true
		}
	}
	return last, last.IsValid()
}

// lastValue returns the rightmost entry of a comma-separated header: the one
// our proxy set.
func lastValue(v string) string {
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

func remoteIP(remoteAddr string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err == nil
}

func contains(nets []netip.Prefix, a netip.Addr) bool {
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
