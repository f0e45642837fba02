package api

import "github.com/gofiber/fiber/v2"

// billCancel is POST /api/v1/bills/{bill_no}/cancel: 200 with the cancelled bill, or 409
// bill_not_cancellable for a bill paid (in part) or being paid. The body, if any, is
// ignored.
func (h *Handler) billCancel(c *fiber.Ctx) error {
	bill, err := h.Bills.CancelClientBill(c.UserContext(), CurrentClient(c), param(c, "bill_no"))
	if err != nil {
		return err
	}
	return c.JSON(bill)
}
