package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// receiptVoid voids a receipt with a reason; it prints stamped 作废 from then on, and its
// verification page says it was voided.
func (h *Handler) receiptVoid(c *fiber.Ctx) error {
	r, err := h.Billing.VoidReceipt(c.UserContext(), c.Params("no"), c.FormValue("reason"), actor(c))
	if err != nil {
		return err
	}
	return web.Redirect(c, "/console/receipts/"+r.ReceiptNo)
}
