package console

import (
	"database/sql"
	"errors"

	"github.com/gofiber/fiber/v2"
)

// userEdit shows a user: the form for their name, phone, roles and department, and the
// buttons to disable or enable them and to reset their password.
func (h *Handler) userEdit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	u, err := h.Auth.User(c.UserContext(), id)
	if errors.Is(err, sql.ErrNoRows) {
		return fiber.NewError(fiber.StatusNotFound, "用户不存在")
	} else if err != nil {
		return err
	}
	return h.renderUserForm(c, formFromUser(u), u)
}
