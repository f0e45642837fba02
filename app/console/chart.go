package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
)

// chart answers one dashboard chart as an HTML fragment that HTMX swaps into its
// placeholder: a .chart element whose data-echarts attribute holds the ECharts options
// (built with go-echarts); static/js/charts.js draws it. The figures are scoped like the
// dashboard: department staff see their own department.
func (h *Handler) chart(c *fiber.Ctx) error {
	build, ok := chartBuilders[c.Params("name")]
	if !ok {
		return fiber.ErrNotFound
	}
	chart, err := build(c.UserContext(), h.Reports, deptScope(auth.Current(c)))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.Render.Fragment(c, "console/_dashboard_chart", fiber.Map{"Chart": chart})
}
