package api

import (
	"campuspay/app/bills"

	"github.com/gofiber/fiber/v2"
)

// refundCreate is POST /api/v1/bills/{bill_no}/refunds: 201 with the refund, pending in
// finance's approval queue; 200 with it as it stands for the same refund_no and content.
func (h *Handler) refundCreate(c *fiber.Ctx) error {
	var req bills.ClientRefundRequest
	if err := decodeJSON(c, limitOne, &req); err != nil {
		return err
	}
	refund, created, err := h.Bills.RequestClientBillRefund(c.UserContext(), CurrentClient(c), param(c, "bill_no"), req)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if created {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(refund)
}
