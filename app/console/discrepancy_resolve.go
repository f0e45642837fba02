package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// discrepancyResolve closes an open discrepancy with finance's note.
func (h *Handler) discrepancyResolve(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if _, err := h.Recon.Resolve(c.UserContext(), id, c.FormValue("note"), actor(c)); err != nil {
		return err
	}
	return web.Redirect(c, "/console/recon/discrepancies/"+strconv.FormatInt(id, 10))
}
