package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// refundReject turns a pending refund down with a reason (required).
func (h *Handler) refundReject(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if _, err := h.Billing.RejectRefund(c.UserContext(), id, actor(c), c.FormValue("reason")); err != nil {
		return err
	}
	return web.Redirect(c, "/console/refunds/"+strconv.FormatInt(id, 10))
}
