package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// refundSync asks the channel how an approved or processing refund went ("查询结果").
func (h *Handler) refundSync(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if _, err := h.Billing.SyncRefund(c.UserContext(), id, actor(c)); err != nil {
		return err
	}
	return web.Redirect(c, "/console/refunds/"+strconv.FormatInt(id, 10))
}
