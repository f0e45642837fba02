package console

import "github.com/gofiber/fiber/v2"

// clientNew shows the form for a new business system.
func (h *Handler) clientNew(c *fiber.Ctx) error {
	return h.renderClientForm(c, &clientFormData{Errors: map[string]string{}})
}
