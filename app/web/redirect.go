package web

import (
	"net/url"
	"strings"
	"unicode"
)

// LocalPath returns raw as a path on this site to send a browser to (a sign-in's "next"),
// rebuilt from its parsed parts, or false when raw is anything else: empty; with a
// scheme, a host or user info; not starting with "/"; with a backslash, a control or a
// white-space character; or starting with "//" or "/\" — in raw or once percent-decoding
// is undone, however many times (browsers drop tabs and newlines and read "\" as "/",
// so "/%09/evil.example" would leave the site).
func LocalPath(raw string) (string, bool) {
	if raw == "" || len(raw) > 2048 {
		return "", false
	}
	for s, i := raw, 0; ; i++ {
		if !plainPath(s) {
			return "", false
		}
		dec, err := url.PathUnescape(s)
		if err != nil || i == 3 {
			return "", false // malformed, or encoded over and over: no honest link does that
		}
		if dec == s {
			break
		}
		s = dec
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "", false
	}
	out := (&url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}).String()
	if !plainPath(out) {
		return "", false
	}
	return out, true
}

// plainPath: starts with one "/" and holds no backslash, control or white-space character.
func plainPath(s string) bool {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r) || r == unicode.ReplacementChar
	})
}

// LoginURL is the sign-in page that comes back to next (a path on this site) afterwards,
// with next encoded as a query value.
func LoginURL(next string) string {
	return (&url.URL{Path: "/login", RawQuery: url.Values{"next": {next}}.Encode()}).String()
}
