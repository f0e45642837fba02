// Package cashier is the payer's side: sign in, see and pay outstanding bills, pay an open
// item without an account, follow an order until it is paid, history and receipts. It also
// takes the channels' notifications and the payer's return from a channel.
package cashier

import (
	"log/slog"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/app/web"
	"campuspay/store"
)

// Handler serves the cashier.
type Handler struct {
	Billing  *billing.Service
	Auth     *auth.Service
	Render   *web.Renderer
	Signer   auth.Signer
	BaseURL  string // public URL, for QR codes
	Log      *slog.Logger
	Now      func() time.Time
	Sessions fiber.Handler // loads the session; the CSRF check runs after it
}

// Routes lists every route of the cashier.
func (h *Handler) Routes(app fiber.Router) {
	app.Post("/notify/:channel", h.notify) // channels: no session, no CSRF, signature instead

	r := app.Group("", h.Sessions, auth.CSRF())
	r.Get("/", func(c *fiber.Ctx) error { return c.Redirect("/pay", fiber.StatusSeeOther) })
	r.Get("/login", h.loginForm)
	r.Post("/login", h.login)
	r.Post("/logout", h.logout)

	// A signed-in payer's pages. (Not a Group with the check: Fiber would run it for
	// every path under /pay, the guests' order pages too.)
	r.Get("/pay", h.requirePayer, h.bills)
	r.Post("/pay/total", h.requirePayer, h.total)
	r.Post("/pay/orders", h.requirePayer, h.orderCreate)
	r.Get("/pay/history", h.requirePayer, h.history)

	// Orders and receipts are reached by their payer, or by a visitor whose session made
	// (or was handed) the order: they check access themselves.
	r.Get("/pay/orders/:no", h.orderShow)
	r.Get("/pay/orders/:no/status", h.orderStatus)
	r.Post("/pay/orders/:no/start", h.orderStart)
	r.Post("/pay/orders/:no/card", h.orderCard)
	r.Post("/pay/orders/:no/cancel", h.orderCancel)
	r.Get("/pay/orders/:no/qr.png", h.orderQR)
	r.Get("/pay/orders/:no/handoff.png", h.handoffQR)
	r.Get("/pay/return/:no", h.returnFromChannel)
	r.Get("/pay/receipts/:no", h.receipt)
	r.Get("/h/:token", h.handoff)

	r.Get("/r/:token", h.verify)
	r.Get("/i/:code", h.itemForm)
	r.Post("/i/:code", h.itemPay)
	r.Get("/i/:code/poster", h.poster)
	r.Get("/i/:code/qr.png", h.itemQR)
	r.Get("/lookup", h.lookupForm)
	r.Post("/lookup", h.lookup)
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
		return web.Redirect(c, "/login?next="+c.OriginalURL())
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
	o, err := h.Billing.Order(c.Context(), c.Params("no"))
	if err != nil {
		return nil, err
	}
	if !canSee(c, o) {
		return nil, fiber.NewError(fiber.StatusNotFound, "订单不存在")
	}
	return o, nil
}
