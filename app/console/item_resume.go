package console

import (
	"campuspay/app/catalog"

	"github.com/gofiber/fiber/v2"
)

// itemResume lets a suspended item take payments again (finance).
func (h *Handler) itemResume(c *fiber.Ctx) error { return h.moveItem(c, catalog.ItemResumed) }
