package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/web"
)

// importStatus is an import job's status: the progress bar while it runs (the fragment
// polls this route every second), then the outcome, with the bad rows of a refused file.
func (h *Handler) importStatus(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	return h.importJobPage(c, id)
}

// importJobPage renders job id: the fragment alone for HTMX, else the import page.
func (h *Handler) importJobPage(c *fiber.Ctx, id int64) error {
	job, rows, err := h.Imports.Job(c.UserContext(), id, deptScope(auth.Current(c)))
	if err != nil {
		return err
	}
	data := fiber.Map{"Job": job, "Rows": rows, "More": job.ErrorCount - len(rows)}
	if job.ItemID != nil {
		item, err := h.Catalog.Item(c.UserContext(), *job.ItemID, deptScope(auth.Current(c)))
		if err != nil {
			return err
		}
		data["Item"] = viewItem(item)
	}
	if web.IsPartial(c) {
		return h.Render.Fragment(c, "console/_items_import_job", data)
	}
	return h.page(c, "console/items_import_job", "导入进度", data)
}
