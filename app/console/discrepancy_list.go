package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/recon"
	"campuspay/app/web"
)

// discrepancyList is the discrepancy queue, filtered by type, status, source and day;
// open ones by default.
func (h *Handler) discrepancyList(c *fiber.Ctx) error {
	f := recon.DiscrepancyFilter{Type: c.Query("type"), Status: c.Query("status", recon.DiscOpen), Source: c.Query("source")}
	if f.Status == "all" {
		f.Status = ""
	}
	if v := c.Query("day"); v != "" {
		day, err := recon.ParseDay(v)
		if err != nil {
			return err
		}
		f.Day = day
	}
	pager := web.NewPager(c, 20)
	rows, total, err := h.Recon.Discrepancies(c.UserContext(), f, pager.Offset(), pager.Size)
	if err != nil {
		return err
	}
	pager.Total = total
	sources, err := h.Recon.StatementSources(c.UserContext())
	if err != nil {
		return err
	}
	return h.page(c, "console/recon_discrepancies", "对账差异", fiber.Map{
		"Rows": discrepancyRows(rows), "Pager": pager, "Types": recon.DiscrepancyTypes, "Sources": sourceOptions(sources),
		"Type": f.Type, "Status": c.Query("status", recon.DiscOpen), "Source": f.Source, "Day": c.Query("day"),
		"Statuses": []option{{"open", "未处理"}, {"resolved", "已处理"}, {"cleared", "已消除"}, {"all", "全部"}},
	})
}
