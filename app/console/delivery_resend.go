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
	n, err := h.Billing.ResendEvents(c.Context(), cl.AppID, eventID, actor(c))
	if err != nil {
		return err
	}
	if n == 0 {
		return fiber.NewError(fiber.StatusConflict, "该回调已送达或不存在，无需重发")
	}
	return web.Redirect(c, clientPath(cl)+"/deliveries?ok=resent")
}

// deliveryResendFailed puts every failed callback of a business system back in the queue.
func (h *Handler) deliveryResendFailed(c *fiber.Ctx) error {
	cl, err := h.loadClient(c)
	if err != nil {
		return err
	}
	n, err := h.Billing.ResendEvents(c.Context(), cl.AppID, 0, actor(c))
	if err != nil {
		return err
	}
	if n == 0 {
		return fiber.NewError(fiber.StatusConflict, "没有失败的回调")
	}
	return web.Redirect(c, clientPath(cl)+"/deliveries?status=pending&ok=resent")
}
