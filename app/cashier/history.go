package cashier

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
)

// history lists the payer's orders, open, paid and closed, each with its state, what it paid
// for, its receipts and what can be done with it now.
func (h *Handler) history(c *fiber.Ctx) error {
	p := auth.Current(c)
	orders, err := h.Billing.PayerOrderHistory(c.UserContext(), p.UserID, 100)
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
	return h.Render.Render(c, "cashier/history", "缴费记录", fiber.Map{
		"Orders": orders, "Receipts": receipts, "Now": h.now(), "Tabs": true,
	})
}
