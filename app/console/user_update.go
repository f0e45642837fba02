package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// userUpdate saves a user's name, phone, roles and department.
func (h *Handler) userUpdate(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	in := userInput(c)
	if _, err := h.Auth.UpdateUser(c.UserContext(), id, in, by(c)); err != nil {
		u, lookErr := h.Auth.User(c.UserContext(), id)
		if lookErr != nil { // missing: err is auth.ErrNotFound
			return userNotFound(err)
		}
		form := formFromInput(in)
		form.ID, form.Login, form.PayerNoFixed = u.ID, u.Login, u.PayerNo != nil
		if !userFormError(form, err) {
			return err
		}
		return h.renderUserForm(c, form, u)
	}
	return web.Redirect(c, "/console/users/"+strconv.FormatInt(id, 10)+"?ok=updated")
}
