package console

import (
	"github.com/gofiber/fiber/v2"
)

// merchantList lists the merchants with, for each payment company, whether its account is
// enabled and the last error the company gave; above them, the form for a new merchant.
func (h *Handler) merchantList(c *fiber.Ctx) error {
	return h.renderMerchants(c, &merchantForm{Errors: map[string]string{}})
}

// renderMerchants shows the list with the new-merchant form (422 when it carries errors).
func (h *Handler) renderMerchants(c *fiber.Ctx, form *merchantForm) error {
	ctx := c.UserContext()
	list, err := h.Merchants.Merchants(ctx)
	if err != nil {
		return err
	}
	depts, err := h.Catalog.ItemDepartments(ctx)
	if err != nil {
		return err
	}
	deptName := map[int64]string{}
	for _, d := range depts {
		deptName[d.ID] = d.Name
	}
	names := h.merchantChannels()
	labels := make([]string, 0, len(names))
	for _, name := range names {
		labels = append(labels, h.Merchants.Driver(name).Capabilities().Label)
	}
	rows := make([]merchantRow, 0, len(list))
	for _, m := range list {
		row := merchantRow{Merchant: m}
		if m.DepartmentID != nil {
			row.Department = deptName[*m.DepartmentID]
		}
		for i, name := range names {
			row.Channels = append(row.Channels, accountBadge{Label: labels[i], Account: accountOf(m, name)})
		}
		rows = append(rows, row)
	}
	if len(form.Errors) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return h.page(c, "console/merchants_list", "收款商户", fiber.Map{
		"Merchants": rows, "Channels": labels, "Departments": depts, "Form": form,
	})
}
