package console

import (
	"campuspay/app/catalog"

	"github.com/gofiber/fiber/v2"
)

// itemSuspend stops an approved item taking payments for a while (finance).
func (h *Handler) itemSuspend(c *fiber.Ctx) error { return h.moveItem(c, catalog.ItemSuspended) }
