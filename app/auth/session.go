package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/session"
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
	localsCSRF      = "campuspay.csrf" // the token of a session saved during the request
	// CSRFHeader carries the token on HTMX requests (set once on <body hx-headers>);
	// CSRFField carries it in ordinary forms.
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "_csrf"
)

// Sessions wraps fiber's session store over the database.
type Sessions struct {
	Store *session.Store
	db    *bun.DB // to check, on each request, that the signed-in user is not disabled
}

// NewSessions returns session handling over storage. secure marks cookies Secure (HTTPS).
func NewSessions(storage *store.SessionStorage, secure bool, timeout time.Duration) *Sessions {
	return &Sessions{db: storage.DB, Store: session.New(session.Config{
		Storage:        storage,
		Expiration:     timeout,
		KeyLookup:      "cookie:campuspay_session",
		CookieHTTPOnly: true,
		CookieSecure:   secure,
		CookieSameSite: "Lax",
	})}
}

// Middleware loads the session (if the request carries one) and the principal into locals.
func (s *Sessions) Middleware() fiber.Handler {
	return func(c *fiber.Ctx) error {
		sess, err := s.Store.Get(c)
		if err != nil {
			return err
		}
		c.Locals(localsSession, sess)
		if uid, ok := sess.Get("uid").(int64); ok && uid > 0 {
			// Who the user is now, not when they signed in: a user disabled since is signed
			// out here, and a change of roles or department applies at the next request
			// (on another instance within userTTL).
			u, err := s.user(c, uid)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if err != nil || u.Disabled {
				if err := sess.Reset(); err != nil {
					return err
				}
				return c.Next()
			}
			c.Locals(localsPrincipal, principalOf(u))
			// Stored again after the handler, unless the handler stored it itself.
			if err := c.Next(); err != nil {
				return err
			}
			if Session(c) == sess {
				return keepAlive(c, sess)
			}
			return nil
		}
		return c.Next()
	}
}

// user reads a signed-in user's row, or takes it from the last two seconds' reads.
func (s *Sessions) user(c *fiber.Ctx, id int64) (*store.User, error) {
	now := time.Now()
	if u, ok := users.get(s.db, id, now); ok {
		return u, nil
	}
	u := new(store.User)
	err := s.db.NewSelect().Model(u).Column("id", "login", "name", "roles", "department_id", "payer_no", "disabled").
		Where("id = ?", id).Scan(c.UserContext())
	if err != nil {
		return nil, err
	}
	users.put(s.db, u, now)
	return u, nil
}

// keepAlive makes the session's timeout count from the last use rather than from sign-in:
// once a quarter of it has passed since the session was last stored, it is stored again
// (so an active user writes the session a few times per timeout, not on every request).
func keepAlive(c *fiber.Ctx, sess *session.Session) error {
	ttl, _ := sess.Get("ttl").(int64)
	seen, _ := sess.Get("seen").(int64)
	now := time.Now().Unix()
	if ttl <= 0 || now-seen < ttl/4 {
		return nil
	}
	sess.SetExpiry(time.Duration(ttl) * time.Second)
	sess.Set("seen", now)
	return SaveSession(c, sess)
}

func principalOf(u *store.User) *Principal {
	p := &Principal{UserID: u.ID, Login: u.Login, Name: u.Name, Roles: u.RoleList(), PayerNo: u.PayerNumber()}
	if u.DepartmentID != nil {
		p.DeptID = *u.DepartmentID
	}
	return p
}

// SaveSession stores the request's session and lets go of it: fiber hands a saved session
// back to its pool, where another request may take it, so the request must not read it
// again (Session returns nil afterwards; CSRFToken still has the token). Every save goes
// through here.
func SaveSession(c *fiber.Ctx, sess *session.Session) error {
	tok, _ := sess.Get("csrf").(string)
	err := sess.Save()
	c.Locals(localsSession, nil)
	c.Locals(localsCSRF, tok)
	return err
}

// Session returns the request's session (nil once it was saved).
func Session(c *fiber.Ctx) *session.Session {
	sess, _ := c.Locals(localsSession).(*session.Session)
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
	sess.Set("uid", u.ID) // the rest is read from the user's row on each request
	if guest != nil {
		sess.Set("guest_orders", guest)
	}
	sess.Set("csrf", newToken())
	if timeout > 0 {
		sess.SetExpiry(timeout)
		sess.Set("ttl", int64(timeout/time.Second))
	}
	sess.Set("seen", time.Now().Unix())
	for k, v := range extra {
		sess.Set(k, v)
	}
	c.Locals(localsPrincipal, principalOf(u))
	id := sess.ID()
	return id, SaveSession(c, sess)
}

// SignOut ends the session.
func SignOut(c *fiber.Ctx) error {
	c.Locals(localsPrincipal, nil)
	return Session(c).Destroy()
}

// CSRFToken returns the session's CSRF token, making one (and saving the session) if needed.
func CSRFToken(c *fiber.Ctx) string {
	sess := Session(c)
	if sess == nil {
		tok, _ := c.Locals(localsCSRF).(string)
		return tok
	}
	if tok, ok := sess.Get("csrf").(string); ok && tok != "" {
		return tok
	}
	tok := newToken()
	sess.Set("csrf", tok)
	SaveSession(c, sess)
	return tok
}

// CSRF refuses a state-changing request (anything but GET, HEAD, OPTIONS) whose token, from
// the X-CSRF-Token header or the _csrf field of the form in the body, does not equal the
// session's. A token in the query string is not looked at: it leaks into logs, histories
// and Referer headers.
func CSRF() fiber.Handler {
	return func(c *fiber.Ctx) error {
		switch c.Method() {
		case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
			return c.Next()
		}
		want, _ := Session(c).Get("csrf").(string)
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
