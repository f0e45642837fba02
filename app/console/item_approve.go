package console

import (
	"campuspay/app/catalog"

	"github.com/gofiber/fiber/v2"
)

// itemApprove lets a pending item take payments (finance).
func (h *Handler) itemApprove(c *fiber.Ctx) error { return h.moveItem(c, catalog.ItemApproved) }
