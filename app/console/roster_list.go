package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/roster"
	"campuspay/app/web"
	"campuspay/store"
)

type statusChoice struct{ Value, Label string }

// payerRow is a payer in the roster list.
type payerRow struct {
	*store.User
	StatusLabel string
}

func payerStatusChoices() []statusChoice {
	var out []statusChoice
	for _, s := range store.PayerStatuses {
		out = append(out, statusChoice{s, roster.PayerStatusLabel(s)})
	}
	return out
}

// rosterList lists the payer roster: search by payer number or name, filter by status.
func (h *Handler) rosterList(c *fiber.Ctx) error {
	pager := web.NewPager(c, 20)
	f := roster.PayerFilter{Query: c.Query("q"), Status: c.Query("status"), Offset: pager.Offset(), Limit: pager.Size}
	payers, total, err := h.Roster.Payers(c.UserContext(), f)
	if err != nil {
		return err
	}
	pager.Total = total
	rows := make([]payerRow, len(payers))
	for i := range payers {
		rows[i] = payerRow{User: &payers[i], StatusLabel: roster.PayerStatusLabel(payers[i].Status)}
	}
	return h.page(c, "console/roster_list", "缴费人名册", fiber.Map{
		"Payers": rows, "Pager": pager, "Q": f.Query, "Status": f.Status, "Statuses": payerStatusChoices(),
	})
}
