package web

import (
	"container/list"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// contentSecurityPolicy allows nothing from another host and nothing
// inline: the client is ES modules and style sheets under /static/, its
// icons are inline SVG elements (no img-src needed beyond 'self'), and
// media elements play MediaStreams through srcObject. WebSocket
// signalling is same-origin ('self' covers ws: and wss: on this host).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; object-src 'none'; " +
	"base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// permissionsPolicy lets this origin (and no embedder) use the camera,
// microphone and screen capture; everything else a page could ask for is off.
const permissionsPolicy = "camera=(self), microphone=(self), display-capture=(self), " +
	"autoplay=(self), fullscreen=(self), geolocation=(), payment=(), usb=(), midi=(), " +
	"magnetometer=(), gyroscope=(), accelerometer=()"

// webLimit is a token bucket per source: Rate requests per second after a
// burst of Burst.
type webLimit struct {
	Rate  float64
	Burst int
}

// Per-source limits. Joining (the room page, the join form, the WebSocket)
// allows a few dozen joins and reconnects at once and one every half second
// after that; the admin API allows the console's polling with plenty to
// spare. Scanners guessing room names or tokens get 429 quickly.
var (
	joinLimit = webLimit{Rate: 2, Burst: 60}
	apiLimit  = webLimit{Rate: 10, Burst: 120}
)

// maxWebSources bounds each limiter's table; the least recently seen
// source is forgotten first.
const maxWebSources = 20000

// security sets the headers every response carries and applies the
// per-source rate limits of the join and API routes.
type security struct {
	join, api *bucketTable
}

func newSecurity(join, api webLimit, now func() time.Time) *security {
	return &security{join: newBucketTable(join, maxWebSources, now), api: newBucketTable(api, maxWebSources, now)}
}

// protect wraps the whole handler: headers first, so that 429s and 404s
// carry them too, then the rate limits.
func (s *server) protect(next http.Handler) http.Handler {
	return newSecurity(joinLimit, apiLimit, time.Now).wrap(next)
}

func (sec *security) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header(), r)
		if t := sec.tableFor(r); t != nil {
			if wait, ok := t.take(sourceKey(r)); !ok {
				tooMany(w, r, wait)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func setSecurityHeaders(h http.Header, r *http.Request) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Permissions-Policy", permissionsPolicy)
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// tableFor returns the limiter of r's route class, or nil for unlimited
// routes (static files, the start page; logins have their own limits).
func (sec *security) tableFor(r *http.Request) *bucketTable {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/api/"):
		return sec.api
	case p == "/ws" || p == "/join" || strings.HasPrefix(p, "/r/"):
		return sec.join
	}
	return nil
}

// tooMany answers 429 with Retry-After in whole seconds (at least 1).
func tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	w.Header().Set("Retry-After", fmt.Sprint(max(1, int(math.Ceil(wait.Seconds())))))
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeAPIError(w, http.StatusTooManyRequests, "rate_limited", "too many requests; try again later")
		return
	}
	http.Error(w, "too many requests; try again later", http.StatusTooManyRequests)
}

// sourceKey is the address a request counts against: the client IP
// (httpserve puts the real client into RemoteAddr behind a trusted proxy),
// IPv6 by /64.
func sourceKey(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// bucketTable holds one token bucket per source, at most max of them.
// Safe for concurrent use; the clock is injected.
type bucketTable struct {
	limit webLimit
	max   int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[netip.Addr]*list.Element // of *bucket
	lru     list.List                    // front: most recently seen
}

type bucket struct {
	key    netip.Addr
	tokens float64
	last   time.Time
}

func newBucketTable(l webLimit, max int, now func() time.Time) *bucketTable {
	return &bucketTable{limit: l, max: max, now: now, buckets: make(map[netip.Addr]*list.Element)}
}

// take spends one token of key's bucket; when there is none it reports
// how long until there is.
func (t *bucketTable) take(key netip.Addr) (wait time.Duration, ok bool) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var b *bucket
	if e, found := t.buckets[key]; found {
		t.lru.MoveToFront(e)
		b = e.Value.(*bucket)
	} else {
		for len(t.buckets) >= t.max {
			old := t.lru.Back()
			t.lru.Remove(old)
			delete(t.buckets, old.Value.(*bucket).key)
		}
		b = &bucket{key: key, tokens: float64(t.limit.Burst), last: now}
		t.buckets[key] = t.lru.PushFront(b)
	}
	b.tokens = min(float64(t.limit.Burst), b.tokens+now.Sub(b.last).Seconds()*t.limit.Rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / t.limit.Rate * float64(time.Second)), false
}
