package sip

import (
	"context"
	"errors"
	"log/slog"
)

var errNoLocalIP = errors.New("sip: cannot tell which local IP the caller reached")

// redactHandler wraps the handler given to sipgo. sipgo logs whole messages
// and request lines on errors; those carry phone numbers, so such attributes
// are replaced (numbers never reach a log).
type redactHandler struct{ h slog.Handler }

// redactedKeys are the sipgo log attributes that can hold message text.
var redactedKeys = map[string]bool{"data": true, "req": true, "res": true, "msg": true,
	"request": true, "response": true, "message": true, "uri": true}

func (r redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }

func (r redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, rec.Message, rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redact(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

func (r redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redact(a)
	}
	return redactHandler{r.h.WithAttrs(red)}
}

func (r redactHandler) WithGroup(name string) slog.Handler { return redactHandler{r.h.WithGroup(name)} }

func redact(a slog.Attr) slog.Attr {
	if redactedKeys[a.Key] {
		return slog.String(a.Key, "[redacted]")
	}
	return a
}

// shortID shortens a Call-ID for logs (enough to correlate, nothing more).
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
