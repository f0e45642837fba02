package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// userCreate adds a user with an initial password checked against the password policy.
func (h *Handler) userCreate(c *fiber.Ctx) error {
	in := userInput(c)
	u, err := h.Auth.CreateUser(c.UserContext(), in, h.passwordPolicy(c), by(c))
	if err != nil {
		form := formFromInput(in)
		if !userFormError(form, err) {
			return err
		}
		return h.renderUserForm(c, form, nil)
	}
	return web.Redirect(c, "/console/users/"+strconv.FormatInt(u.ID, 10)+"?ok=created")
}
