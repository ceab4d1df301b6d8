// Package httpserve runs dialroom's HTTP listeners the way production needs
// them: plain HTTP, HTTPS from certificate files that are reloaded when they
// change (or on Reload, for SIGHUP), HTTPS with automatic ACME certificates
// (golang.org/x/crypto/acme/autocert), a plain-HTTP listener that redirects
// to HTTPS, and X-Forwarded-* handling for requests from configured reverse
// proxies only. It knows nothing of rooms or calls: it serves whatever
// http.Handler it is given.
package httpserve
