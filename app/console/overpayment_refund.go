package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// overpaymentRefund asks for an overpayment to go back to the payer; another finance user
// approves it on the refund page.
func (h *Handler) overpaymentRefund(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	r, err := h.Billing.RequestOverpaymentRefund(c.UserContext(), id, actor(c))
	if err != nil {
		return err
	}
	return web.Redirect(c, "/console/refunds/"+strconv.FormatInt(r.ID, 10))
}
