package console

import (
	"campuspay/app/catalog"

	"github.com/gofiber/fiber/v2"
)

// itemClose ends an item for good (finance).
func (h *Handler) itemClose(c *fiber.Ctx) error { return h.moveItem(c, catalog.ItemClosed) }
