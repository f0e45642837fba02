package console

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
)

// receiptBatch is a page of receipts to print, one per sheet (A5 landscape, or A4 portrait
// with size=A4): the valid receipts of an item, a day or a payer, in number order. One
// query, however many.
func (h *Handler) receiptBatch(c *fiber.Ctx) error {
	f := receiptFilter(c)
	f.No, f.Status = "", "valid"
	if f.Item == "" && f.Day == "" && f.Payer == "" {
		return fiber.NewError(fiber.StatusUnprocessableEntity, "请至少按收费项目、日期或缴费人之一筛选后再批量打印")
	}
	rows, total, err := h.Billing.ReceiptsToPrint(c.UserContext(), f)
	if err != nil {
		return err
	}
	sheets, err := h.receiptSheets(c.UserContext(), rows)
	if err != nil {
		return err
	}
	size, other := "A5", "A4"
	if c.Query("size") == "A4" {
		size, other = "A4", "A5"
	}
	q := url.Values{"item": {f.Item}, "day": {f.Day}, "payer": {f.Payer}}
	return h.page(c, "console/receipts_batch", "批量打印票据", fiber.Map{
		"Sheets": sheets, "Total": total, "Shown": len(sheets), "Max": billing.MaxPrintBatch,
		"Size": size, "Filter": f, "ListURL": "/console/receipts?" + q.Encode(),
		"OtherSizeURL": "/console/receipts/print?" + q.Encode() + "&size=" + other,
		"Back":         q.Encode() + "&size=" + size,
	})
}
