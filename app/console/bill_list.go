package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/bills"
	"campuspay/app/fault"
	"campuspay/app/web"
	"campuspay/store"
)

// billList lists an item's bills (filter by status), with the form adding one bill and a
// cancel button on each bill that may still be cancelled.
func (h *Handler) billList(c *fiber.Ctx) error {
	item, err := h.loadItem(c)
	if err != nil {
		return err
	}
	return h.billPage(c, item, bills.BillInput{}, nil)
}

// billPage renders the bill list of item, with the add-one form holding in and errs.
func (h *Handler) billPage(c *fiber.Ctx, item *store.ChargeItem, in bills.BillInput, errs fault.FormErrors) error {
	pager := web.NewPager(c, 20)
	f := bills.BillFilter{ItemID: item.ID, Offset: pager.Offset(), Limit: pager.Size}
	if s := c.Query("status"); s != "" {
		f.Status = []store.BillStatus{store.BillStatus(s)}
	}
	bills, total, err := h.Bills.ItemBills(c.UserContext(), f)
	if err != nil {
		return err
	}
	pager.Total = total
	return h.page(c, "console/items_bills", item.Name+" - 账单", fiber.Map{
		"Item": viewItem(item), "Bills": bills, "Pager": pager, "Status": c.Query("status"), "Statuses": billStatuses,
		"Form": in, "Errors": errs, "Flash": itemFlashes[c.Query("done")],
	})
}

// billStatuses are the bill status filter's choices.
var billStatuses = []store.BillStatus{store.BillUnpaid, store.BillPartial, store.BillPaid, store.BillRefunded, store.BillCancelled}
