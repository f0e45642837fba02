package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/bizday"
	"campuspay/app/reports"
	"campuspay/app/web"
	"campuspay/store"
)

// offlineList lists offline collections (cash, POS, bank deduction) with filters by
// method, collection day, one import, or a reference, payer or order number; the totals
// are those of every row the filter finds.
func (h *Handler) offlineList(c *fiber.Ctx) error {
	from, err := bizday.ParseDay(c.Query("from"))
	if err != nil {
		return err
	}
	to, err := bizday.ParseDay(c.Query("to"))
	if err != nil {
		return err
	}
	job, _ := strconv.ParseInt(c.Query("job"), 10, 64)
	f := reports.OfflineFilter{Method: c.Query("method"), From: from, To: to, Q: c.Query("q"), JobID: job}
	pager := web.NewPager(c, 20)
	rows, totals, err := h.Reports.OfflineCollections(c.UserContext(), f, pager.Offset(), pager.Size)
	if err != nil {
		return err
	}
	pager.Total = totals.Count
	return h.page(c, "console/offline_list", "线下收款", fiber.Map{
		"Rows": rows, "Totals": totals, "Pager": pager, "Methods": reports.OfflineMethodChoices(),
		"Form":      fiber.Map{"Method": f.Method, "From": c.Query("from"), "To": c.Query("to"), "Q": f.Q, "Job": c.Query("job")},
		"CanImport": auth.Current(c).Has(store.RoleFinance),
	})
}
