package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// userResetPassword gives the user a random temporary password and shows it once, on this
// answer only: it is stored hashed, never logged, never shown again.
func (h *Handler) userResetPassword(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	u, password, err := h.Auth.ResetPassword(c.UserContext(), id, h.passwordPolicy(c), by(c))
	if err != nil {
		return userNotFound(err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.page(c, "console/users_password", "重置密码", fiber.Map{"Account": u, "Password": password, "Partial": web.IsPartial(c)})
}
