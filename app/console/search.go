package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/reports"
	"campuspay/app/web"
)

// search shows one search (orders, payments, bills or refunds): the filters, one page of
// rows newest first, and the totals of every row the filter finds, which the rows of all
// pages add up to. Department staff see their own department only.
func (h *Handler) search(c *fiber.Ctx) error {
	kind := c.Params("kind")
	title, ok := searchKinds[kind]
	if !ok {
		return fiber.ErrNotFound
	}
	filter, form, err := h.searchFilter(c, kind, h.now())
	if err != nil {
		return err
	}
	choices, err := h.Reports.SearchChoices(c.UserContext(), filter.Scope)
	if err != nil {
		return err
	}
	pager := web.NewPager(c, 20)
	var rows, totals any
	var count int64
	switch kind {
	case "orders":
		r, t, e := h.Reports.SearchOrders(c.UserContext(), reports.OrderSearch{SearchFilter: filter}, pager.Offset(), pager.Size)
		rows, totals, count, err = r, t, t.Count, e
	case "payments":
		r, t, e := h.Reports.SearchPayments(c.UserContext(), reports.PaymentSearch{SearchFilter: filter}, pager.Offset(), pager.Size)
		rows, totals, count, err = r, t, t.Count, e
	case "bills":
		r, t, e := h.Reports.SearchBills(c.UserContext(), reports.BillSearch{SearchFilter: filter}, pager.Offset(), pager.Size)
		rows, totals, count, err = r, t, t.Count, e
	case "refunds":
		r, t, e := h.Reports.SearchRefunds(c.UserContext(), reports.RefundSearch{SearchFilter: filter}, pager.Offset(), pager.Size)
		rows, totals, count, err = r, t, t.Count, e
	}
	if err != nil {
		return err
	}
	pager.Total = int(count)
	return h.page(c, "console/search_"+kind, title, fiber.Map{
		"Kind": kind, "Title": title, "Form": form, "Choices": choices, "Statuses": searchStatuses[kind],
		"DateLabel": searchDates[kind], "Note": searchNotes[kind],
		"Rows": rows, "Totals": totals, "Pager": pager,
	})
}
