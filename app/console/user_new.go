package console

import "github.com/gofiber/fiber/v2"

// userNew shows the form for a new user.
func (h *Handler) userNew(c *fiber.Ctx) error {
	return h.renderUserForm(c, &userFormData{Roles: []string{}, Errors: map[string]string{}}, nil)
}
