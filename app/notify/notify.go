// Package notify is the payment companies' door: POST /notify/:channel/:merchant takes a
// company's asynchronous notification of a payment or a refund for one merchant (the
// address finance registers with the company), POST /notify/:channel a one-merchant
// channel's (the sandbox, the campus card); hands it to billing (which
// verifies, checks and applies it at most once) and answers in the company's own format.
// No session and no CSRF: the signature stands instead. It is not the payer's cashier and
// imports no other web feature.
package notify

import (
	"strconv"

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

// Routes lists the doors.
func (h *Handler) Routes(app fiber.Router) {
	// Channels: no session, no CSRF, signature instead.
	app.Post("/notify/:channel", h.notify)
	app.Post("/notify/:channel/:merchant", h.notifyMerchant)
}

// notifyMerchant takes a company's notification for one merchant and answers in the
// company's own format, positive or negative (a negative answer makes it send again).
func (h *Handler) notifyMerchant(c *fiber.Ctx) error {
	if len(c.Body()) > BodyLimit {
		return fiber.ErrRequestEntityTooLarge
	}
	id, err := strconv.ParseInt(c.Params("merchant"), 10, 64)
	if err != nil || id <= 0 {
		return fiber.ErrNotFound
	}
	ack, err := h.Billing.Notify(c.UserContext(), c.Params("channel"), id, headerOf(c), c.Body(), c.IP())
	if ack.Status == 0 {
		return err // no such door
	}
	if ack.ContentType != "" {
		c.Set(fiber.HeaderContentType, ack.ContentType)
	}
	return c.Status(ack.Status).Send(ack.Body)
}

func headerOf(c *fiber.Ctx) map[string][]string {
	header := make(map[string][]string)
	c.Request().Header.VisitAll(func(k, v []byte) {
		header[string(k)] = append(header[string(k)], string(v))
	})
	return header
}

// notify takes a channel's asynchronous notification.
func (h *Handler) notify(c *fiber.Ctx) error {
	if len(c.Body()) > BodyLimit { // the server refuses it before; this handler is sure of it
		return fiber.ErrRequestEntityTooLarge
	}
	ct, ack, err := h.Billing.HandleNotification(c.UserContext(), c.Params("channel"), headerOf(c), c.Body(), c.IP())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, ct)
	return c.Send(ack)
}
