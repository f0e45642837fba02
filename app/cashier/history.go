package cashier

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/store"
)

// history lists the payer's paid orders with their receipts.
func (h *Handler) history(c *fiber.Ctx) error {
	p := auth.Current(c)
	orders, err := h.Billing.PayerOrders(c.Context(), p.UserID, 100)
	if err != nil {
		return err
	}
	receipts := make(map[int64][]*store.Receipt, len(orders))
	for _, o := range orders {
		rs, err := h.Billing.OrderReceipts(c.Context(), o.ID)
		if err != nil {
			return err
		}
		receipts[o.ID] = rs
	}
	return h.Render.Render(c, "cashier/history", "缴费记录", fiber.Map{"Orders": orders, "Receipts": receipts})
}
