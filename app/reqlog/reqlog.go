// Package reqlog carries a request's id and what its work learns (order number, trade
// number, client id) in the context, so that every log line written with that context, and
// the request's access log line, names them. It imports nothing of the platform.
package reqlog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"sync"
)

// Fields is what one request (or one job run) has learned so far; safe for the goroutines
// its work starts.
type Fields struct {
	mu    sync.Mutex
	id    string
	attrs []slog.Attr
}

// key is the context key of *Fields. Fiber keeps it as a local, and fasthttp's request
// context answers Value with its locals, so c.UserContext() and c.UserContext() both carry it.
type key struct{}

// Key is the context (and Fiber locals) key under which a request's *Fields live.
var Key = key{}

// New starts the fields of a request or job run with its id.
func New(id string) *Fields { return &Fields{id: id} }

// With returns ctx carrying f.
func With(ctx context.Context, f *Fields) context.Context { return context.WithValue(ctx, Key, f) }

// From returns the fields ctx carries, or nil.
func From(ctx context.Context) *Fields {
	if ctx == nil {
		return nil
	}
	f, _ := ctx.Value(Key).(*Fields)
	return f
}

// ID is the request id ctx carries, or "".
func ID(ctx context.Context) string {
	if f := From(ctx); f != nil {
		return f.id
	}
	return ""
}

// Add records key/value pairs (strings) on the request ctx carries; without one it does
// nothing. A key given again keeps its first value. Never add a secret.
func Add(ctx context.Context, kv ...string) {
	f := From(ctx)
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
next:
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		for _, a := range f.attrs {
			if a.Key == kv[i] {
				continue next
			}
		}
		f.attrs = append(f.attrs, slog.String(kv[i], kv[i+1]))
	}
}

// Attrs returns the request id and the recorded fields, for a log line.
func (f *Fields) Attrs() []slog.Attr {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]slog.Attr, 0, len(f.attrs)+1)
	out = append(out, slog.String("request_id", f.id))
	return append(out, f.attrs...)
}

// NewID makes a request id: 16 random bytes in hex.
func NewID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// SaneID reports whether an id a proxy sent (X-Request-ID) may be used as is: 1 to 64
// characters of letters, digits, '-', '_', '.' and ':' — nothing that could break a log line.
func SaneID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.', r == ':':
		default:
			return false
		}
	}
	return true
}

// Handler adds the fields of the context a record is logged with to the record.
type Handler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h Handler) Handle(ctx context.Context, r slog.Record) error {
	if f := From(ctx); f != nil {
		r.AddAttrs(f.Attrs()...)
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h Handler) WithAttrs(as []slog.Attr) slog.Handler { return Handler{h.Handler.WithAttrs(as)} }

// WithGroup implements slog.Handler.
func (h Handler) WithGroup(name string) slog.Handler { return Handler{h.Handler.WithGroup(name)} }

// NewLogger makes the platform's logger: JSON (one object a line) or text (key=value),
// with the request fields of the context added to each record.
func NewLogger(w io.Writer, format string, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(Handler{h})
}
