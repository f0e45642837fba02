package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/store"
)

// dashboardCharts are the charts of the dashboard, each loaded by HTMX from
// /console/charts/<name> once the page is shown.
var dashboardCharts = []struct{ Name, Title string }{
	{"trend", "近 30 天每日收款"},
	{"departments", "本学期各部门收款"},
	{"channels", "本学期各支付方式收款"},
	{"outstanding", "待缴金额最多的 10 个项目"},
	{"progress", "收费项目收缴进度"},
}

// dashboard shows the headline figures (today, this week, this term, refunds, still owed)
// and the placeholders of the charts. Finance, leadership and administrators see the whole
// school; department staff see their own department.
func (h *Handler) dashboard(c *fiber.Ctx) error {
	data, err := h.dashboardData(c)
	if err != nil {
		return err
	}
	data["Charts"], data["ChartList"] = true, dashboardCharts
	return h.page(c, "console/dashboard", data["Heading"].(string), data)
}

// dashboardStats is the strip of headline figures alone, which the dashboard asks for
// every 5 seconds (HTMX polling): a payment shows on it without anyone reloading.
func (h *Handler) dashboardStats(c *fiber.Ctx) error {
	data, err := h.dashboardData(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.Render.Fragment(c, "console/_dashboard_stats", data)
}

func (h *Handler) dashboardData(c *fiber.Ctx) (fiber.Map, error) {
	p := auth.Current(c)
	scope := deptScope(p)
	overview, err := h.Reports.Overview(c.UserContext(), scope)
	if err != nil {
		return nil, err
	}
	title, unit := "领导看板", "全校"
	switch {
	case p.Has(store.RoleFinance):
		title = "财务看板"
	case scope != nil:
		title, unit = "部门看板", "本部门"
		if d, err := h.department(c, *scope); err == nil {
			unit = d.Name
		}
	}
	return fiber.Map{
		"Heading": title, "Unit": unit, "Overview": overview,
		"Today": overview.Day.Format("2006-01-02"), "WeekStart": overview.WeekStart.Format("2006-01-02"),
		"TermStart": overview.Term.First.Format("2006-01-02"),
	}, nil
}
