package api

import "github.com/gofiber/fiber/v2"

// refundShow is GET /api/v1/refunds/{refund_no}.
func (h *Handler) refundShow(c *fiber.Ctx) error {
	refund, err := h.Bills.ClientRefund(c.UserContext(), CurrentClient(c), param(c, "refund_no"))
	if err != nil {
		return err
	}
	return c.JSON(refund)
}
