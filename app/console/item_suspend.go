package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
)

// itemSuspend stops an approved item taking payments for a while (finance).
func (h *Handler) itemSuspend(c *fiber.Ctx) error { return h.moveItem(c, billing.ItemSuspended) }
