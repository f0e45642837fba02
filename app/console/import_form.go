package console

import (
	"campuspay/app/bills"

	"github.com/gofiber/fiber/v2"
)

// billImportForm is the upload form of an item's bill import, with the template link.
func (h *Handler) billImportForm(c *fiber.Ctx) error {
	item, err := h.loadItem(c)
	if err != nil {
		return err
	}
	return h.page(c, "console/items_import", item.Name+" - 导入账单", fiber.Map{
		"Item": viewItem(item), "Header": bills.BillTemplateHeader, "MaxRows": maxImportRows,
	})
}
