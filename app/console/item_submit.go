package console

import (
	"campuspay/app/catalog"

	"github.com/gofiber/fiber/v2"
)

// itemSubmit submits a draft (or an edited rejected item) for finance to review.
func (h *Handler) itemSubmit(c *fiber.Ctx) error { return h.moveItem(c, catalog.ItemSubmitted) }
