package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// offlineImport takes an uploaded file of offline collections and starts its import in
// the background; the answer is the job's status, which polls itself until it ends.
func (h *Handler) offlineImport(c *fiber.Ctx) error {
	name, data, err := uploadedFile(c, "file")
	if err != nil {
		return err
	}
	job, err := h.Billing.ImportOffline(c.UserContext(), name, data, actor(c))
	if err != nil {
		return err
	}
	url := "/console/offline/imports/" + strconv.FormatInt(job.ID, 10)
	if web.IsPartial(c) {
		return h.Render.Fragment(c, "console/_offline_job", fiber.Map{"Job": job, "URL": url})
	}
	return web.Redirect(c, url)
}
