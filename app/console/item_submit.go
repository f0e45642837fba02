package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
)

// itemSubmit submits a draft (or an edited rejected item) for finance to review.
func (h *Handler) itemSubmit(c *fiber.Ctx) error { return h.moveItem(c, billing.ItemSubmitted) }
