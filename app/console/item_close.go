package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
)

// itemClose ends an item for good (finance).
func (h *Handler) itemClose(c *fiber.Ctx) error { return h.moveItem(c, billing.ItemClosed) }
