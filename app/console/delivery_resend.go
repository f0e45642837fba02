package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// deliveryResend puts one failed or pending callback back in the queue, to be sent now
// with a fresh retry schedule.
func (h *Handler) deliveryResend(c *fiber.Ctx) error {
	cl, err := h.loadClient(c)
	if err != nil {
		return err
	}
	eventID, err := idParam(c, "event")
	if err != nil {
		return err
	}
	n, err := h.Clients.ResendEvents(c.UserContext(), cl.AppID, eventID, actor(c))
	if err != nil {
		return err
	}
	if n == 0 {
		return fiber.NewError(fiber.StatusConflict, "该回调已送达或不存在，无需重发")
	}
	return web.Redirect(c, clientPath(cl)+"/deliveries?ok=resent")
}

// deliveryResendAll puts every callback of a business system not yet delivered back in
// the queue, to be sent now: those marked failed and those waiting for their next retry
// (after the receiver was fixed, finance need not wait hours for the schedule).
func (h *Handler) deliveryResendAll(c *fiber.Ctx) error {
	cl, err := h.loadClient(c)
	if err != nil {
		return err
	}
	n, err := h.Clients.ResendEvents(c.UserContext(), cl.AppID, 0, actor(c))
	if err != nil {
		return err
	}
	if n == 0 {
		return fiber.NewError(fiber.StatusConflict, "没有尚未送达的回调")
	}
	return web.Redirect(c, clientPath(cl)+"/deliveries?status=pending&ok=resent")
}
