package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// offlineImportStatus shows an offline import: its progress while it runs (the fragment
// polls itself), then its outcome — what it settled, or every bad row of a refused file.
func (h *Handler) offlineImportStatus(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	job, rows, err := h.Billing.OfflineImport(c.UserContext(), id)
	if err != nil {
		return err
	}
	data := fiber.Map{"Job": job, "RowErrors": rows, "URL": "/console/offline/imports/" + strconv.FormatInt(id, 10)}
	if web.IsPartial(c) {
		return h.Render.Fragment(c, "console/_offline_job", data)
	}
	return h.page(c, "console/offline_job", "线下收款导入", data)
}
