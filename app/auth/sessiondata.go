package auth

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/store"
)

// WebSession is one browser's session: who signed in (the user id, a column of its row) and a
// few values (the CSRF token, guest orders, an OAuth state …), strings or int64s. It is read
// once per request, with its user, in one statement (store.LoadSession), and written only
// when a handler saves it. Its values are encoded as a query string with a type letter per
// value (s: string, i: int64): small, and decoded without reflection.
type WebSession struct {
	s         *Sessions
	c         *fiber.Ctx
	id        string
	stored    bool   // a row with this id exists (as far as this request knows)
	retired   string // Regenerate: the stored row's earlier id, moved to id at the next save
	userID    int64
	values    map[string]any
	ttl       time.Duration // lifetime from the next save
	expiresAt int64         // as read: unix seconds, 0 = never
	pre       string        // the browser's pre-session cookie, as read or set (preSession)
}

// Get returns a value: a string, an int64, or nil.
func (s *WebSession) Get(key string) any { return s.values[key] }

// Set keeps a value until the session is saved. Only strings and integers are kept.
func (s *WebSession) Set(key string, v any) {
	switch v := v.(type) {
	case string:
		s.values[key] = v
	case int64:
		s.values[key] = v
	case int:
		s.values[key] = int64(v)
	default:
		panic(fmt.Sprintf("auth: session value %q of type %T: only strings and integers are kept", key, v))
	}
}

// Delete removes a value.
func (s *WebSession) Delete(key string) { delete(s.values, key) }

// Keys lists the session's values, sorted.
func (s *WebSession) Keys() []string {
	keys := make([]string, 0, len(s.values))
	for k := range s.values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ID is the session's id, the cookie's value.
func (s *WebSession) ID() string { return s.id }

// UserID is the signed-in user's id, or 0.
func (s *WebSession) UserID() int64 { return s.userID }

// SetExpiry sets how long the session lives from its next save.
func (s *WebSession) SetExpiry(d time.Duration) { s.ttl = d }

// Regenerate gives the session a new id, ending the old one: what a sign-in does, so that
// an id fixed before it is worthless. The values stay until changed; Save stores them. A
// stored row is moved to the new id by Save in one statement (the old id ends there, and
// it is deleted if the move fails); Destroy deletes it.
func (s *WebSession) Regenerate() error {
	if s.stored && s.retired == "" {
		s.retired = s.id
	}
	s.stored = false
	s.id = newToken()
	return nil
}

// Destroy ends the session: its row goes, its values are forgotten, and the browser is
// told to forget the cookie.
func (s *WebSession) Destroy() error {
	if err := s.drop(); err != nil {
		return err
	}
	s.userID, s.values = 0, map[string]any{}
	s.s.clearCookie(s.c)
	return nil
}

// Reset is Destroy that leaves a fresh, unsaved session under a new id in its place.
func (s *WebSession) Reset() error {
	if err := s.Destroy(); err != nil {
		return err
	}
	s.id = newToken()
	return nil
}

func (s *WebSession) drop() error {
	if s.retired != "" {
		if err := store.DeleteSession(s.ctx(), s.s.db, s.retired); err != nil {
			return err
		}
		s.retired = ""
	}
	if !s.stored {
		return nil
	}
	if err := store.DeleteSession(s.ctx(), s.s.db, s.id); err != nil {
		return err
	}
	s.stored = false
	return nil
}

// Save stores the session and (re)sends its cookie.
//
// The first save of a visitor's session (guest orders, a single sign-on's state, ...) gives
// it the CSRF token the visitor's forms already carry, the one their pre-session cookie
// gives (CSRFToken): the pages they have open keep working. A visitor who was shown no form
// yet gets a new token in the same write, rather than in a second one when a page asks.
func (s *WebSession) Save() error {
	if tok, _ := s.values["csrf"].(string); !s.stored && tok == "" {
		if pre := s.preSession(false); pre != "" {
			s.values["csrf"] = s.s.preSessionToken(pre)
		} else {
			s.values["csrf"] = newToken()
		}
	}
	ttl := s.ttl
	if ttl <= 0 {
		ttl = s.s.timeout
	}
	exp := time.Now().Add(ttl).Unix()
	moved := false
	if s.retired != "" {
		var err error
		if moved, err = store.RenameSession(s.ctx(), s.s.db, s.retired, s.id, s.userID, encodeValues(s.values), exp); err != nil {
			s.drop() // the old id ends, as Regenerate promised
			return err
		}
		s.retired = ""
	}
	if !moved {
		if err := store.SaveSession(s.ctx(), s.s.db, s.id, s.userID, encodeValues(s.values), exp); err != nil {
			return err
		}
	}
	s.stored, s.expiresAt = true, exp
	s.s.setCookie(s.c, s.id, ttl)
	return nil
}

// preSession returns the browser's pre-session cookie: the one the request carries, or
// the one made earlier in this request. If there is none, mint makes one and sets it on
// the response; otherwise it returns "". A value that cannot be one (not 64 hex digits,
// like a session id) counts as none.
func (s *WebSession) preSession(mint bool) string {
	if s.pre == "" && s.c != nil {
		if v := s.c.Cookies(PreSessionCookie); validSessionID(v) {
			s.pre = v
		}
	}
	if s.pre == "" && mint {
		s.pre = newToken()
		s.s.setPreSessionCookie(s.c, s.pre)
	}
	return s.pre
}

func (s *WebSession) ctx() context.Context {
	if s.c != nil {
		if ctx := s.c.UserContext(); ctx != nil {
			return ctx
		}
	}
	return context.Background()
}

// encodeValues writes values as a query string, each value behind its type letter.
func encodeValues(values map[string]any) []byte {
	q := make(url.Values, len(values))
	for k, v := range values {
		switch v := v.(type) {
		case string:
			q.Set(k, "s"+v)
		case int64:
			q.Set(k, "i"+strconv.FormatInt(v, 10))
		}
	}
	return []byte(q.Encode())
}

// decodeValues reads what encodeValues wrote. Anything else (a session of the old gob
// encoding, a damaged row) decodes to no values, with an error.
func decodeValues(b []byte) (map[string]any, error) {
	out := map[string]any{}
	if len(b) == 0 {
		return out, nil
	}
	q, err := url.ParseQuery(string(b))
	if err != nil {
		return map[string]any{}, fmt.Errorf("auth: session values: %w", err)
	}
	for k, vs := range q {
		v := vs[0]
		switch {
		case strings.HasPrefix(v, "s"):
			out[k] = v[1:]
		case strings.HasPrefix(v, "i"):
			n, err := strconv.ParseInt(v[1:], 10, 64)
			if err != nil {
				return map[string]any{}, fmt.Errorf("auth: session value %q: %w", k, err)
			}
			out[k] = n
		default:
			return map[string]any{}, fmt.Errorf("auth: session value %q has no type", k)
		}
	}
	return out, nil
}

// validSessionID reports whether a cookie's value can be a session id (newToken's 64 hex
// digits), so that anything else is not looked up at all.
func validSessionID(id string) bool {
	if len(id) != 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
