package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// clientRotateSecret gives a business system a new secret and shows it once, on this
// answer only; the old secret stops working at once.
func (h *Handler) clientRotateSecret(c *fiber.Ctx) error {
	cl, err := h.loadClient(c)
	if err != nil {
		return err
	}
	secret, err := h.Clients.RotateClientSecret(c.UserContext(), cl.AppID, actor(c))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.page(c, "console/clients_secret", "新密钥", fiber.Map{"Client": cl, "Secret": secret, "Partial": web.IsPartial(c)})
}
