package console

import (
	"bufio"

	"github.com/gofiber/fiber/v2"
)

// unpaidExport sends the item's unpaid payers as an Excel workbook, streamed from the
// database into the response.
func (h *Handler) unpaidExport(c *fiber.Ctx) error {
	item, err := h.loadItem(c)
	if err != nil {
		return err
	}
	itemsAttachment(c, item.Code+"-未缴名单.xlsx")
	w := bufio.NewWriterSize(c.Response().BodyWriter(), 64<<10)
	if err := h.Reports.ExportUnpaid(c.UserContext(), item, w); err != nil {
		return err
	}
	return w.Flush()
}
