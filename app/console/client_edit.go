package console

import "github.com/gofiber/fiber/v2"

// clientEdit shows the form to change what a business system may do.
func (h *Handler) clientEdit(c *fiber.Ctx) error {
	cl, err := h.loadClient(c)
	if err != nil {
		return err
	}
	return h.renderClientForm(c, clientFormOf(cl))
}
