package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// clientDisable refuses a business system's requests from now on.
func (h *Handler) clientDisable(c *fiber.Ctx) error { return h.setClientDisabled(c, true) }

// clientEnable accepts a disabled business system's requests again.
func (h *Handler) clientEnable(c *fiber.Ctx) error { return h.setClientDisabled(c, false) }

func (h *Handler) setClientDisabled(c *fiber.Ctx, disabled bool) error {
	cl, err := h.loadClient(c)
	if err != nil {
		return err
	}
	if err := h.Clients.SetClientDisabled(c.UserContext(), cl.AppID, disabled, actor(c)); err != nil {
		return err
	}
	done := "enabled"
	if disabled {
		done = "disabled"
	}
	return web.Redirect(c, clientPath(cl)+"?ok="+done)
}
