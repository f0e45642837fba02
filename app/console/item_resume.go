package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
)

// itemResume lets a suspended item take payments again (finance).
func (h *Handler) itemResume(c *fiber.Ctx) error { return h.moveItem(c, billing.ItemResumed) }
