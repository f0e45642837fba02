// Package notify is the payment companies' door: POST /notify/:channel takes a channel's
// asynchronous notification of a payment or a refund, hands it to billing (which
// verifies, checks and applies it at most once) and answers in the company's own format.
// No session and no CSRF: the signature stands instead. It is not the payer's cashier and
// imports no other web feature.
package notify

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
)

// BodyLimit is the most a channel's notification may carry. The largest real one is
// UnionPay's form post with its signing certificate (signPubKeyCert) inline, about 5 KB;
// Alipay's form and WeChat Pay's encrypted JSON are 1–3 KB, the sandbox's under 1 KB.
// 64 KB is ten times the largest with room for fields a company adds, and small enough
// that a flood of forged posts cannot fill the notifications table.
const BodyLimit = 64 << 10

// Handler serves the notification door.
type Handler struct {
	Billing *billing.Service
}

// Routes lists the door's one route.
func (h *Handler) Routes(app fiber.Router) {
	app.Post("/notify/:channel", h.notify) // channels: no session, no CSRF, signature instead
}

// notify takes a channel's asynchronous notification.
func (h *Handler) notify(c *fiber.Ctx) error {
	if len(c.Body()) > BodyLimit { // the server refuses it before; this handler is sure of it
		return fiber.ErrRequestEntityTooLarge
	}
	header := make(map[string][]string)
	c.Request().Header.VisitAll(func(k, v []byte) {
		header[string(k)] = append(header[string(k)], string(v))
	})
	ct, ack, err := h.Billing.HandleNotification(c.UserContext(), c.Params("channel"), header, c.Body(), c.IP())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, ct)
	return c.Send(ack)
}
