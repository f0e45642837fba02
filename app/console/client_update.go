package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// clientUpdate saves a business system's name, allowed items, callback URL and switches;
// its app id and secret stay as they are.
func (h *Handler) clientUpdate(c *fiber.Ctx) error {
	cl, err := h.loadClient(c)
	if err != nil {
		return err
	}
	in := clientInput(c)
	in.AppID = cl.AppID
	if _, err := h.Clients.UpdateClient(c.UserContext(), in, actor(c)); err != nil {
		form := clientFormFrom(in)
		form.ID = cl.ID
		if !clientFormError(form, err) {
			return err
		}
		return h.renderClientForm(c, form)
	}
	return web.Redirect(c, clientPath(cl)+"?ok=updated")
}
