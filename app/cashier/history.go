package cashier

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
)

// history lists the payer's paid orders with their receipts.
func (h *Handler) history(c *fiber.Ctx) error {
	p := auth.Current(c)
	orders, err := h.Billing.PayerOrders(c.UserContext(), p.UserID, 100)
	if err != nil {
		return err
	}
	ids := make([]int64, len(orders))
	for i, o := range orders {
		ids[i] = o.ID
	}
	receipts, err := h.Billing.ReceiptsOfOrders(c.UserContext(), ids)
	if err != nil {
		return err
	}
	return h.Render.Render(c, "cashier/history", "缴费记录", fiber.Map{"Orders": orders, "Receipts": receipts})
}
