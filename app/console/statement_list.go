package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/recon"
	"campuspay/app/web"
)

// statementList lists the stored statement versions of the channels and the banks,
// filtered by source and day.
func (h *Handler) statementList(c *fiber.Ctx) error {
	f := recon.StatementFilter{Source: c.Query("source")}
	if v := c.Query("day"); v != "" {
		day, err := recon.ParseDay(v)
		if err != nil {
			return err
		}
		f.Day = day
	}
	pager := web.NewPager(c, 20)
	rows, total, err := h.Recon.Statements(c.UserContext(), f, pager.Offset(), pager.Size)
	if err != nil {
		return err
	}
	pager.Total = total
	sources, err := h.Recon.StatementSources(c.UserContext())
	if err != nil {
		return err
	}
	return h.page(c, "console/recon_statements", "对账单", fiber.Map{
		"Rows": statementRows(rows), "Pager": pager, "Source": f.Source, "Day": c.Query("day"),
		"Sources": sourceOptions(sources),
	})
}
