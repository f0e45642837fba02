package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// rosterImportStatus shows a roster import: its progress while it runs (the fragment
// polls itself), then its outcome, with every bad row kept.
func (h *Handler) rosterImportStatus(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	job, rows, err := h.Roster.RosterImport(c.UserContext(), id)
	if err != nil {
		return err
	}
	data := fiber.Map{"Job": job, "RowErrors": rows, "URL": "/console/roster/imports/" + strconv.FormatInt(id, 10)}
	if web.IsPartial(c) { // the job polling itself
		return h.Render.Fragment(c, "console/_roster_job", data)
	}
	return h.page(c, "console/roster_job", "名册导入", data)
}
