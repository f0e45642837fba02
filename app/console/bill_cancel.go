package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/web"
)

// billCancel cancels an unpaid bill that no open order is paying, and goes back to the
// item's bill list.
func (h *Handler) billCancel(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	bill, err := h.Bills.CancelBill(c.UserContext(), id, deptScope(auth.Current(c)), actor(c))
	if err != nil {
		return err
	}
	return web.Redirect(c, "/console/items/"+strconv.FormatInt(bill.ItemID, 10)+"/bills?done=cancelled")
}
