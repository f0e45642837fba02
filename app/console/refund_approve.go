package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// refundApprove approves a pending refund (finance, never the requester) and executes it
// through the order's channel at once; the refund page then shows how it went.
func (h *Handler) refundApprove(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if _, err := h.Billing.ApproveRefund(c.UserContext(), id, actor(c), c.FormValue("note")); err != nil {
		return err
	}
	return web.Redirect(c, "/console/refunds/"+strconv.FormatInt(id, 10))
}
