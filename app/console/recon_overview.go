package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/recon"
	"campuspay/app/web"
	"campuspay/store"
)

// reconOverview shows one day's reconciliation: each channel against the platform, each
// channel's settlement against the bank, the bank's own statement, and the recent runs.
func (h *Handler) reconOverview(c *fiber.Ctx) error {
	day, err := h.reconDay(c, "day")
	if err != nil {
		return err
	}
	ov, err := h.Recon.Overview(c.UserContext(), day)
	if err != nil {
		return err
	}
	pager := web.NewPager(c, 20)
	runs, total, err := h.Recon.Runs(c.UserContext(), pager.Offset(), pager.Size)
	if err != nil {
		return err
	}
	pager.Total = total
	data := fiber.Map{"Overview": ov, "Day": day.Format("2006-01-02"), "Runs": runRows(runs), "Pager": pager,
		"CanRun": auth.Current(c).Has(store.RoleFinance), "Changed": c.Query("changed") == "1"}
	if ran := c.Query("ran"); ran != "" {
		data["Flash"] = "已完成" + recon.SourceLabel(ran) + " " + day.Format("2006-01-02") + " 的对账"
	}
	return h.page(c, "console/recon_overview", "对账", data)
}
