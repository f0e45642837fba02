// Package cashier is the payer's side: sign in, see and pay outstanding bills, pay an open
// item without an account, follow an order until it is paid, history and receipts, and
// the payer's return from a channel. (The channels' notifications are app/notify's.)
package cashier

import (
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/app/egress"
	"campuspay/app/settings"
	"campuspay/app/web"
	"campuspay/store"
)

// Handler serves the cashier.
type Handler struct {
	Billing  *billing.Service
	Auth     *auth.Service
	Render   *web.Renderer
	Signer   auth.Signer
	Secrets  settings.Sealer // unseals the sealed settings (the OIDC client secret)
	BaseURL  string          // public URL, for QR codes
	Log      *slog.Logger
	Now      func() time.Time
	Sessions fiber.Handler // loads the session; the CSRF check runs after it
	// SessionStore is the sessions Sessions loads: the bills page reads its session itself.
	SessionStore *auth.Sessions
	// StatusWait is how long a poll of an open order's status block waits for this
	// instance to apply a payment to it before answering (order_show.go); 0 answers at once.
	StatusWait time.Duration
	// Egress guards the requests to the identity provider (CAS validation, OIDC
	// discovery, keys and tokens); nil refuses every internal address.
	Egress *egress.Guard

	oidc    auth.OIDCProviders // discovered OIDC providers, kept between sign-ins (sso.go)
	ssoHTTP *http.Client       // the identity provider's client, through Egress
}

// Routes lists every route of the cashier.
func (h *Handler) Routes(app fiber.Router) {
	h.ssoHTTP = h.Egress.Client(egress.Options{Timeout: 10 * time.Second})
	h.oidc.Client = h.ssoHTTP

	// Every page loads the session and checks CSRF on writes. (Attached route by route: a
	// Group("") with middleware would run it for every path of the app, the API too.)
	r := sessionRoutes{app, []fiber.Handler{h.Sessions, auth.CSRF()}}
	r.get("/", func(c *fiber.Ctx) error { return c.Redirect("/pay", fiber.StatusSeeOther) })
	r.get("/login", h.loginForm)
	r.post("/login", h.login)
	r.post("/logout", h.logoutSSO) // ends the CAS session too for a user who came through CAS

	// Single sign-on (sso.go). The CAS server posts its single-logout request to the
	// callback server to server: that POST has no session and no CSRF token.
	r.get("/auth/cas/login", h.casLogin)
	r.get("/auth/cas/callback", h.casCallback)
	app.Post("/auth/cas/callback", h.casSingleLogout)
	r.get("/auth/oidc/login", h.oidcLogin)
	r.get("/auth/oidc/callback", h.oidcCallback)

	// A signed-in payer's pages.
	app.Get("/pay", h.bills) // reads its session in the same statement as the bills (bills.go)
	r.post("/pay/total", h.requirePayer, h.total)
	r.post("/pay/orders", h.requirePayer, h.orderCreate)
	r.get("/pay/history", h.requirePayer, h.history)
	r.get("/pay/b/:token", h.payLink) // a business system's pay_url: signs its payer in

	// Orders and receipts are reached by their payer, or by a visitor whose session made
	// (or was handed) the order: they check access themselves.
	r.get("/pay/orders/:no", h.orderShow)
	r.get("/pay/orders/:no/status", h.orderStatus)
	r.post("/pay/orders/:no/pay", h.orderPay)
	r.get("/pay/orders/:no/oauth", h.oauthStart) // the payer's identity inside an app first (pay_oauth.go)
	r.get("/pay/oauth/:channel", h.oauthCallback)
	r.post("/pay/orders/:no/card", h.orderCard)
	r.post("/pay/orders/:no/cancel", h.orderCancel)
	r.post("/pay/orders/:no/switch", h.requirePayer, h.orderSwitch)
	r.get("/pay/orders/:no/qr.png", h.orderQR)
	r.get("/pay/orders/:no/handoff.png", h.handoffQR)
	r.get("/pay/return/:no", h.returnFromChannel)
	// A company whose page posts the payer back (UnionPay's frontUrl) posts from its own
	// site: no token, and no session cookie (SameSite=Lax). It only leads to the GET.
	app.Post("/pay/return/:no", returnPosted)
	r.get("/pay/receipts/:no", h.receipt)
	r.get("/h/:token", h.handoff)

	r.get("/r/:token", h.verify)
	r.get("/i/:code", h.itemForm)
	r.post("/i/:code", h.itemPay)
	r.get("/i/:code/poster", h.poster)
	r.get("/i/:code/qr.png", h.itemQR)
	r.get("/lookup", h.lookupForm)
	r.post("/lookup", h.lookup)
}

// sessionRoutes registers routes behind the same middleware.
type sessionRoutes struct {
	app fiber.Router
	mw  []fiber.Handler
}

func (s sessionRoutes) get(path string, h ...fiber.Handler) {
	s.app.Get(path, append(append([]fiber.Handler{}, s.mw...), h...)...)
}

func (s sessionRoutes) post(path string, h ...fiber.Handler) {
	s.app.Post(path, append(append([]fiber.Handler{}, s.mw...), h...)...)
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// requirePayer sends a visitor without a payer session to sign in.
func (h *Handler) requirePayer(c *fiber.Ctx) error {
	p := auth.Current(c)
	if p == nil {
		return web.Redirect(c, web.LoginURL(c.OriginalURL()))
	}
	if !p.Has(store.RolePayer) {
		return fiber.NewError(fiber.StatusForbidden, "此账号不是缴费人账号")
	}
	return c.Next()
}

// canSee reports whether the request may see the order: its payer, or the visitor whose
// session holds it.
func canSee(c *fiber.Ctx, o *store.Order) bool {
	if p := auth.Current(c); p != nil && o.PayerID != nil && *o.PayerID == p.UserID {
		return true
	}
	return slices.Contains(auth.GuestOrders(c), o.OrderNo)
}

// order loads the order in the URL and checks the request may see it. Someone else's order
// is answered as missing, so that order numbers cannot be probed.
func (h *Handler) order(c *fiber.Ctx) (*store.Order, error) {
	o, err := h.Billing.Order(c.UserContext(), c.Params("no"))
	if err != nil {
		return nil, err
	}
	if !canSee(c, o) {
		return nil, fiber.NewError(fiber.StatusNotFound, "订单不存在")
	}
	return o, nil
}
