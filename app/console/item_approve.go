package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
)

// itemApprove lets a pending item take payments (finance).
func (h *Handler) itemApprove(c *fiber.Ctx) error { return h.moveItem(c, billing.ItemApproved) }
