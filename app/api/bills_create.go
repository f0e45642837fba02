package api

import (
	"campuspay/app/bills"

	"github.com/gofiber/fiber/v2"
)

// billCreate is POST /api/v1/bills: 201 with the new bill, or 200 with the bill as it
// stands when the same bill_no came with the same content before.
func (h *Handler) billCreate(c *fiber.Ctx) error {
	var req bills.ClientBillRequest
	if err := decodeJSON(c, limitOne, &req); err != nil {
		return err
	}
	bill, created, err := h.Bills.CreateClientBill(c.UserContext(), CurrentClient(c), req, bills.SourceAPI)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if created {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(bill)
}
