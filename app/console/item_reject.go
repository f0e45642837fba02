package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
)

// itemReject sends a pending item back with a reason (finance).
func (h *Handler) itemReject(c *fiber.Ctx) error { return h.moveItem(c, billing.ItemRejected) }
