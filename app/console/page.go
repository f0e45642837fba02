package console

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
)

// navItem is one entry of the console's menu (or a section heading).
type navItem struct {
	Section string
	Label   string
	Href    string
	Roles   []string
	Current bool
}

// menu is the console's navigation; each entry shows only to the roles that may open it.
var menu = []navItem{
	{Section: "概览", Roles: readers},
	{Label: "数据看板", Href: "/console", Roles: readers},
	{Section: "收费管理", Roles: readers},
	{Label: "收费项目", Href: "/console/items", Roles: readers},
	{Label: "退款", Href: "/console/refunds", Roles: readers},
	{Label: "待退溢缴款", Href: "/console/overpayments", Roles: auditors},
	{Label: "票据", Href: "/console/receipts", Roles: auditors},
	{Label: "对账", Href: "/console/recon", Roles: auditors},
	{Label: "线下收款", Href: "/console/offline", Roles: auditors},
	{Label: "会计凭证", Href: "/console/vouchers", Roles: auditors},
	{Section: "查询统计", Roles: readers},
	{Label: "订单查询", Href: "/console/search/orders", Roles: readers},
	{Label: "支付流水", Href: "/console/search/payments", Roles: readers},
	{Label: "应缴款项", Href: "/console/search/bills", Roles: readers},
	{Label: "退款查询", Href: "/console/search/refunds", Roles: readers},
	{Section: "系统", Roles: auditors},
	{Label: "缴费人名册", Href: "/console/roster", Roles: keepers},
	{Label: "系统参数", Href: "/console/settings", Roles: keepers},
	{Label: "收款商户", Href: "/console/merchants", Roles: keepers},
	{Label: "用户与角色", Href: "/console/users", Roles: admins},
	{Label: "部门", Href: "/console/departments", Roles: admins},
	{Label: "接入系统", Href: "/console/clients", Roles: auditors},
	{Label: "审计日志", Href: "/console/audit", Roles: auditors},
}

// nav is the menu for p, with the entry for path marked current.
func nav(p *auth.Principal, path string) []navItem {
	var out []navItem
	best := ""
	for _, it := range menu {
		if it.Href != "" && strings.HasPrefix(path, it.Href) && len(it.Href) > len(best) {
			best = it.Href
		}
	}
	for _, it := range menu {
		if p == nil || !p.Has(it.Roles...) {
			continue
		}
		it.Current = it.Href != "" && it.Href == best
		out = append(out, it)
	}
	return out
}

// page renders a console page (or its HTMX fragment) with the menu.
func (h *Handler) page(c *fiber.Ctx, name, title string, data fiber.Map) error {
	if data == nil {
		data = fiber.Map{}
	}
	data["Nav"] = nav(auth.Current(c), c.Path())
	return h.Render.Render(c, name, title, data)
}

// idParam reads a positive integer route parameter.
func idParam(c *fiber.Ctx, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, fiber.NewError(fiber.StatusNotFound, "记录不存在")
	}
	return id, nil
}

// actor is who the audit log names for a request.
func actor(c *fiber.Ctx) string {
	if p := auth.Current(c); p != nil {
		return p.Login
	}
	return "anonymous"
}
