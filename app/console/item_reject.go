package console

import (
	"campuspay/app/catalog"

	"github.com/gofiber/fiber/v2"
)

// itemReject sends a pending item back with a reason (finance).
func (h *Handler) itemReject(c *fiber.Ctx) error { return h.moveItem(c, catalog.ItemRejected) }
