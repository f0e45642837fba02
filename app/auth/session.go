package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"campuspay/store"
)

// Principal is who a request is from, as kept in the session.
type Principal struct {
	UserID  int64
	Login   string
	Name    string
	Roles   []string
	PayerNo string
	DeptID  int64
}

// Has reports whether the principal holds any of roles.
func (p *Principal) Has(roles ...string) bool {
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

const (
	localsSession   = "campuspay.session"
	localsPrincipal = "campuspay.principal"
	// CSRFHeader carries the token on HTMX requests (set once on <body hx-headers>);
	// CSRFField carries it in ordinary forms.
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "_csrf"
)

// SessionCookie is the name of the session's cookie.
const SessionCookie = "campuspay_session"

// PreSessionCookie is the name of the cookie that binds the forms of a visitor without a
// stored session to their browser (see CSRFToken): 32 random bytes in hex, nothing else.
const PreSessionCookie = "campuspay_presession"

// Sessions keeps sessions in the database (store/sessions.go).
//
// Every request reads its session row and its user's row in one statement: there is no
// cache of sessions or users in an instance, so a sign-out (the row deleted), a disabled
// user (their rows deleted in the same transaction, and the flag read) and a change of
// roles or department (read from the user's row) take effect at the next request on every
// instance. The busiest page, the outstanding bills, reads its session in the same
// statement as the bills (Key, Adopt): who is asking costs it no read of its own.
type Sessions struct {
	db      *bun.DB
	secure  bool
	timeout time.Duration // a session's lifetime without use, unless the sign-in set one
	csrfKey []byte        // makes the CSRF tokens of visitors without a stored session
}

// NewSessions returns session handling over db. secure marks cookies Secure (HTTPS).
// csrfKey makes the CSRF token of a visitor who has no stored session from their
// pre-session cookie (CSRFToken): every instance must be given the same key (one derived
// from the master secret), so that a form rendered by one is accepted by the others.
func NewSessions(db *bun.DB, secure bool, timeout time.Duration, csrfKey []byte) *Sessions {
	if timeout <= 0 {
		timeout = 2 * time.Hour
	}
	if len(csrfKey) == 0 {
		// Without a key anyone could compute the token of any cookie.
		panic("auth: NewSessions: no CSRF key")
	}
	return &Sessions{db: db, secure: secure, timeout: timeout, csrfKey: csrfKey}
}

// Middleware loads the session (if the request carries one) and the principal into locals.
func (s *Sessions) Middleware() fiber.Handler {
	return func(c *fiber.Ctx) error {
		key := s.Key(c)
		var rec *store.SessionRecord
		if key != "" {
			var err error
			if rec, err = store.LoadSession(c.UserContext(), s.db, key, time.Now()); err != nil {
				return err
			}
		}
		p, err := s.Adopt(c, rec)
		if err != nil {
			return err
		}
		if p == nil {
			return c.Next()
		}
		// The session's timeout counts from its last use, after the handler (unless the
		// handler ended the session).
		if err := c.Next(); err != nil {
			return err
		}
		return keepAlive(c)
	}
}

// Key returns the session id the request's cookie carries, or "" when it carries none that
// could be one. A page that reads its session itself (Adopt) passes it to its statement.
func (s *Sessions) Key(c *fiber.Ctx) string {
	if id := c.Cookies(SessionCookie); validSessionID(id) {
		return id
	}
	return ""
}

// Adopt makes rec, the request's session as read (nil: none, or expired), the request's
// session, and returns the signed-in principal, or nil. The session of a user who is gone
// or disabled is ended. Middleware does it for every page; a page that reads the session
// in its own statement (store.SessionSelect) calls it with what it read, and then
// keepAlive is its own concern (KeepAlive).
func (s *Sessions) Adopt(c *fiber.Ctx, rec *store.SessionRecord) (*Principal, error) {
	sess := &WebSession{s: s, c: c, id: newToken(), values: map[string]any{}}
	c.Locals(localsSession, sess)
	c.Locals(localsPrincipal, nil)
	if rec == nil {
		return nil, nil
	}
	sess.id, sess.stored, sess.userID, sess.expiresAt = rec.Key, true, rec.UserID, rec.ExpiresAt
	values, err := decodeValues(rec.Data)
	if err != nil {
		// Not ours to read: start again rather than fail every page of this browser.
		return nil, sess.Reset()
	}
	sess.values = values
	if rec.UserID == 0 {
		return nil, nil
	}
	if rec.User == nil || rec.User.Disabled {
		return nil, sess.Reset()
	}
	p := principalOf(rec.User)
	c.Locals(localsPrincipal, p)
	return p, nil
}

// KeepAlive is keepAlive for a page that adopted its session itself.
func KeepAlive(c *fiber.Ctx) error { return keepAlive(c) }

// keepAlive makes the session's timeout count from the last use rather than from sign-in:
// once a quarter of it has passed since the session was last stored, its expiry is moved
// (so an active user writes the row a few times per timeout, not on every request). Only
// the expiry is written: the values another request of the same browser stored meanwhile
// stay.
func keepAlive(c *fiber.Ctx) error {
	sess := Session(c)
	if sess == nil || !sess.stored || sess.userID == 0 || sess.expiresAt == 0 {
		return nil
	}
	ttl, _ := sess.Get("ttl").(int64)
	if ttl <= 0 {
		ttl = int64(sess.s.timeout / time.Second)
	}
	now := time.Now().Unix()
	if storedAt := sess.expiresAt - ttl; now-storedAt < ttl/4 {
		return nil
	}
	exp := now + ttl
	if err := store.TouchSession(sess.ctx(), sess.s.db, sess.id, exp); err != nil {
		return err
	}
	sess.expiresAt = exp
	sess.s.setCookie(c, sess.id, time.Duration(ttl)*time.Second)
	return nil
}

func (s *Sessions) setCookie(c *fiber.Ctx, id string, ttl time.Duration) {
	if c == nil {
		return
	}
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: id, Path: "/", MaxAge: int(ttl / time.Second),
		Expires: time.Now().Add(ttl), HTTPOnly: true, Secure: s.secure, SameSite: fiber.CookieSameSiteLaxMode})
}

// setPreSessionCookie gives the browser its pre-session cookie. It lasts as long as the
// browser's session (no Max-Age): its token is good for as long as a page with a form can
// stay open, the server keeps nothing that would have to expire with it, and the value
// opens nothing by itself (it is no session, it only ties forms to this browser), so a
// lifetime would only refuse forms left open past it, as the anonymous session rows did
// after their timeout.
func (s *Sessions) setPreSessionCookie(c *fiber.Ctx, value string) {
	if c == nil {
		return
	}
	c.Cookie(&fiber.Cookie{Name: PreSessionCookie, Value: value, Path: "/", SessionOnly: true,
		HTTPOnly: true, Secure: s.secure, SameSite: fiber.CookieSameSiteLaxMode})
}

// preSessionToken is the CSRF token of the forms of a browser whose pre-session cookie is
// pre: made from the cookie with the key every instance shares, it needs no row.
func (s *Sessions) preSessionToken(pre string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("csrf\x00" + pre))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Sessions) clearCookie(c *fiber.Ctx) {
	if c == nil {
		return
	}
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		Expires: time.Unix(0, 0), HTTPOnly: true, Secure: s.secure, SameSite: fiber.CookieSameSiteLaxMode})
}

func principalOf(u *store.User) *Principal {
	p := &Principal{UserID: u.ID, Login: u.Login, Name: u.Name, Roles: u.RoleList(), PayerNo: u.PayerNumber()}
	if u.DepartmentID != nil {
		p.DeptID = *u.DepartmentID
	}
	return p
}

// SaveSession stores the request's session. Every save goes through here.
func SaveSession(c *fiber.Ctx, sess *WebSession) error {
	return sess.Save()
}

// Session returns the request's session (nil outside the session middleware).
func Session(c *fiber.Ctx) *WebSession {
	sess, _ := c.Locals(localsSession).(*WebSession)
	return sess
}

// Current returns the signed-in principal, or nil.
func Current(c *fiber.Ctx) *Principal {
	p, _ := c.Locals(localsPrincipal).(*Principal)
	return p
}

// SignIn starts a fresh session for u (a new session id, so that a session fixed before
// sign-in is worthless) and keeps the guest orders the visitor had.
//
// timeout, when not zero, is how long the session lives without use (the session-timeout
// setting); zero keeps the store's default.
func SignIn(c *fiber.Ctx, u *store.User, timeout time.Duration) error {
	_, err := signIn(c, u, timeout, nil)
	return err
}

// SignInNotice is SignIn that also keeps notice (when not "") for the first full page the
// user sees (web.Renderer shows it once): what they should know about their account.
func SignInNotice(c *fiber.Ctx, u *store.User, timeout time.Duration, notice string) error {
	var extra map[string]string
	if notice != "" {
		extra = map[string]string{sessionNotice: notice}
	}
	_, err := signIn(c, u, timeout, extra)
	return err
}

// sessionNotice is the session key of the sign-in notice.
const sessionNotice = "signin_notice"

// Notice returns the sign-in notice the session holds, or "".
func Notice(c *fiber.Ctx) string {
	sess := Session(c)
	if sess == nil {
		return ""
	}
	s, _ := sess.Get(sessionNotice).(string)
	return s
}

// DropNotice removes the sign-in notice once shown, saving the session: call it last.
func DropNotice(c *fiber.Ctx) error {
	sess := Session(c)
	if sess == nil {
		return nil
	}
	sess.Delete(sessionNotice)
	return SaveSession(c, sess)
}

// signIn is SignIn that also keeps extra values in the new session (single sign-on notes
// how the user came), and returns the new session's id. The session must not be used
// after it: saving hands it back to fiber's pool.
func signIn(c *fiber.Ctx, u *store.User, timeout time.Duration, extra map[string]string) (string, error) {
	sess := Session(c)
	guest := sess.Get("guest_orders")
	if err := sess.Regenerate(); err != nil {
		return "", err
	}
	for _, k := range sess.Keys() {
		sess.Delete(k)
	}
	sess.userID = u.ID // the rest is read from the user's row on each request
	if guest != nil {
		sess.Set("guest_orders", guest)
	}
	sess.Set("csrf", newToken())
	if timeout > 0 {
		sess.SetExpiry(timeout)
		sess.Set("ttl", int64(timeout/time.Second))
	}
	for k, v := range extra {
		sess.Set(k, v)
	}
	c.Locals(localsPrincipal, principalOf(u))
	id := sess.ID()
	return id, SaveSession(c, sess)
}

// SignOut ends the session, on every instance: its row is deleted.
func SignOut(c *fiber.Ctx) error {
	c.Locals(localsPrincipal, nil)
	return Session(c).Destroy()
}

// CSRFToken returns the CSRF token for the request's forms. A stored session has its own
// (made, and the session saved, if it has none yet). A visitor without a stored session
// (anyone who only opened the sign-in page or a payment form) gets a token made from their
// pre-session cookie, set on this response if the browser has none: showing them a form
// writes no row, which a crawler or the term-start rush would otherwise do on every view.
// The first save of their session keeps that token (WebSession.Save), so forms already
// shown stay good.
func CSRFToken(c *fiber.Ctx) string {
	sess := Session(c)
	if sess == nil {
		return ""
	}
	if tok, ok := sess.Get("csrf").(string); ok && tok != "" {
		return tok
	}
	if !sess.stored {
		return sess.s.preSessionToken(sess.preSession(true))
	}
	tok := newToken()
	sess.Set("csrf", tok)
	SaveSession(c, sess)
	return tok
}

// CSRF refuses a state-changing request (anything but GET, HEAD, OPTIONS) whose token, from
// the X-CSRF-Token header or the _csrf field of the form in the body, does not equal the
// session's, or, for a visitor without a stored session, the one their pre-session cookie
// gives (CSRFToken); without either cookie nothing is accepted. A token in the query
// string is not looked at: it leaks into logs, histories and Referer headers.
func CSRF() fiber.Handler {
	return func(c *fiber.Ctx) error {
		switch c.Method() {
		case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
			return c.Next()
		}
		sess := Session(c)
		var want string
		if sess.stored {
			want, _ = sess.Get("csrf").(string)
		} else if pre := sess.preSession(false); pre != "" {
			want = sess.s.preSessionToken(pre)
		}
		got := c.Get(CSRFHeader)
		if got == "" {
			got = formField(c, CSRFField)
		}
		if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return fiber.NewError(fiber.StatusForbidden, "页面已过期或请求来源不明，请刷新页面后重试")
		}
		return c.Next()
	}
}

// GuestOrders returns the order numbers an off-campus visitor made in this session: they
// may see those orders without an account.
func GuestOrders(c *fiber.Ctx) []string {
	sess := Session(c)
	if sess == nil {
		return nil
	}
	s, _ := sess.Get("guest_orders").(string)
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// AddGuestOrder remembers an order number for this visitor (the last ten).
func AddGuestOrder(c *fiber.Ctx, orderNo string) error {
	list := append(GuestOrders(c), orderNo)
	if len(list) > 10 {
		list = list[len(list)-10:]
	}
	sess := Session(c)
	if sess == nil {
		return errors.New("auth: session already saved in this request")
	}
	sess.Set("guest_orders", strings.Join(list, ","))
	return SaveSession(c, sess)
}

func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// formField is a field of the form in the request body (URL-encoded or multipart), never
// of the query string (fiber's FormValue reads both).
func formField(c *fiber.Ctx, name string) string {
	ct := strings.ToLower(string(c.Request().Header.ContentType()))
	switch {
	case strings.HasPrefix(ct, fiber.MIMEApplicationForm):
		return string(c.Request().PostArgs().Peek(name))
	case strings.HasPrefix(ct, fiber.MIMEMultipartForm):
		form, err := c.MultipartForm()
		if err != nil {
			return ""
		}
		if v := form.Value[name]; len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
