package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// unpaidList lists the payers who still owe on the item, with the Excel export link.
func (h *Handler) unpaidList(c *fiber.Ctx) error {
	item, err := h.loadItem(c)
	if err != nil {
		return err
	}
	pager := web.NewPager(c, 20)
	rows, total, err := h.Reports.UnpaidPayers(c.UserContext(), item.ID, pager.Offset(), pager.Size)
	if err != nil {
		return err
	}
	pager.Total = total
	return h.page(c, "console/items_unpaid", item.Name+" - 未缴名单", fiber.Map{"Item": viewItem(item), "Rows": rows, "Pager": pager})
}
