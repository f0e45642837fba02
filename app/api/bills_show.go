package api

import "github.com/gofiber/fiber/v2"

// billShow is GET /api/v1/bills/{bill_no}: the bill with its payments and refunds.
func (h *Handler) billShow(c *fiber.Ctx) error {
	bill, err := h.Bills.ClientBill(c.UserContext(), CurrentClient(c), param(c, "bill_no"))
	if err != nil {
		return err
	}
	return c.JSON(bill)
}
