package console

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/web"
)

// userDisable stops a user signing in; their open sessions end at their next request.
func (h *Handler) userDisable(c *fiber.Ctx) error { return h.setUserDisabled(c, true) }

// userEnable lets a disabled user sign in again.
func (h *Handler) userEnable(c *fiber.Ctx) error { return h.setUserDisabled(c, false) }

func (h *Handler) setUserDisabled(c *fiber.Ctx, disabled bool) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if _, err := h.Auth.SetDisabled(c.UserContext(), id, disabled, by(c)); err != nil {
		var ie *auth.InputError
		if errors.As(err, &ie) {
			return fiber.NewError(fiber.StatusUnprocessableEntity, ie.Message())
		}
		return userNotFound(err)
	}
	done := "enabled"
	if disabled {
		done = "disabled"
	}
	return web.Redirect(c, "/console/users/"+strconv.FormatInt(id, 10)+"?ok="+done)
}
