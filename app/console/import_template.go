package console

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/bills"
)

// billTemplate sends the item's import template: the columns, and example rows.
func (h *Handler) billTemplate(c *fiber.Ctx) error {
	item, err := h.loadItem(c)
	if err != nil {
		return err
	}
	return sendTemplate(c, item.Code+"-账单导入模板.xlsx", "账单", bills.BillTemplateHeader, bills.BillTemplateExample(item))
}

// itemsAttachment makes the answer an .xlsx download named name (UTF-8 names per RFC 6266).
func itemsAttachment(c *fiber.Ctx, name string) {
	c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="export.xlsx"; filename*=UTF-8''`+url.PathEscape(name))
}
