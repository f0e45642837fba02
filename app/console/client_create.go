package console

import (
	"github.com/gofiber/fiber/v2"
)

// clientCreate registers a business system and shows its secret, on this answer only: it
// is stored sealed and never shown again (rotating makes a new one).
func (h *Handler) clientCreate(c *fiber.Ctx) error {
	in := clientInput(c)
	cl, secret, err := h.Clients.CreateClient(c.UserContext(), in, actor(c))
	if err != nil {
		form := clientFormFrom(in)
		if !clientFormError(form, err) {
			return err
		}
		return h.renderClientForm(c, form)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.page(c, "console/clients_secret", "接入系统已创建", fiber.Map{"Client": cl, "Secret": secret, "Created": true})
}
