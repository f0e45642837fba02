package console

import (
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/bizday"
	"campuspay/app/web"
)

// voucherList shows the accounting vouchers of a business day (or a range of days):
// totals by channel (with the statements' fees), by department, and by department, item
// and channel (paginated), and what the voucher export holds.
func (h *Handler) voucherList(c *fiber.Ctx) error {
	from, to, err := h.voucherRange(c)
	if err != nil {
		return err
	}
	rep, err := h.Recon.Vouchers(c.UserContext(), from, to)
	if err != nil {
		return err
	}
	pager := web.NewPager(c, 20)
	pager.Total = len(rep.Rows)
	rows := rep.Rows[min(pager.Offset(), len(rep.Rows)):min(pager.Offset()+pager.Size, len(rep.Rows))]
	var debit, credit int64
	for _, l := range rep.Lines {
		debit, credit = debit+l.DebitFen, credit+l.CreditFen
	}
	q := url.Values{"from": {from.Format(time.DateOnly)}, "to": {to.Format(time.DateOnly)}}
	return h.page(c, "console/vouchers", "会计凭证", fiber.Map{
		"Report": rep, "Rows": rows, "Pager": pager, "DebitFen": debit, "CreditFen": credit,
		"From": q.Get("from"), "To": q.Get("to"), "ExportURL": "/console/vouchers/export.xlsx?" + q.Encode(),
	})
}

// voucherRange reads ?from= and ?to= (business days); both default to yesterday, and to
// defaults to from.
func (h *Handler) voucherRange(c *fiber.Ctx) (from, to time.Time, err error) {
	if from, err = bizday.ParseDay(c.Query("from")); err != nil {
		return
	}
	if to, err = bizday.ParseDay(c.Query("to")); err != nil {
		return
	}
	if from.IsZero() {
		from = bizday.DayOf(h.now()).AddDate(0, 0, -1)
	}
	if to.IsZero() {
		to = from
	}
	return from, to, nil
}
