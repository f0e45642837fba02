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
	p := auth.Current(c)
	scope := deptScope(p)
	overview, err := h.Reports.Overview(c.UserContext(), scope)
	if err != nil {
		return err
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
	return h.page(c, "console/dashboard", title, fiber.Map{
		"Heading": title, "Unit": unit, "Overview": overview, "Charts": true, "ChartList": dashboardCharts,
		"Today": overview.Day.Format("2006-01-02"), "WeekStart": overview.WeekStart.Format("2006-01-02"),
		"TermStart": overview.Term.First.Format("2006-01-02"),
	})
}
