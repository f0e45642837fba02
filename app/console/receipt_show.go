package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/store"
)

// receiptShow is one receipt as it prints, with the print and void buttons for finance.
func (h *Handler) receiptShow(c *fiber.Ctx) error {
	r, err := h.Billing.ReceiptDetail(c.UserContext(), c.Params("no"))
	if err != nil {
		return err
	}
	sheets, err := h.receiptSheets(c.UserContext(), []*store.ReceiptRow{r})
	if err != nil {
		return err
	}
	return h.page(c, "console/receipts_show", "票据 "+r.ReceiptNo, fiber.Map{
		"Sheet": sheets[0], "IsFinance": auth.Current(c).Has(store.RoleFinance),
	})
}
