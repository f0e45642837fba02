package console

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/app/web"
	"campuspay/store"
)

// receiptList searches receipts by item, day (Asia/Shanghai), payer number or name,
// receipt number and status; finance can print what it finds as a batch.
func (h *Handler) receiptList(c *fiber.Ctx) error {
	f := receiptFilter(c)
	pager := web.NewPager(c, 20)
	rows, total, err := h.Billing.Receipts(c.UserContext(), f, pager.Offset(), pager.Size)
	if err != nil {
		return err
	}
	pager.Total = total
	items, err := h.Billing.ReceiptItems(c.UserContext())
	if err != nil {
		return err
	}
	q := url.Values{"item": {f.Item}, "day": {f.Day}, "payer": {f.Payer}}
	return h.page(c, "console/receipts_list", "票据", fiber.Map{
		"Rows": rows, "Pager": pager, "Filter": f, "Items": items,
		"CanPrint":  auth.Current(c).Has(store.RoleFinance) && (f.Item != "" || f.Day != "" || f.Payer != ""),
		"PrintA5":   "/console/receipts/print?" + q.Encode() + "&size=A5",
		"PrintA4":   "/console/receipts/print?" + q.Encode() + "&size=A4",
		"IsFinance": auth.Current(c).Has(store.RoleFinance),
	})
}

func receiptFilter(c *fiber.Ctx) billing.ReceiptFilter {
	return billing.ReceiptFilter{Item: c.Query("item"), Day: c.Query("day"), Payer: c.Query("payer"),
		No: c.Query("no"), Status: c.Query("status")}
}
