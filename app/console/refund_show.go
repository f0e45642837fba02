package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/store"
)

// refundShow is one refund: its details, its bill or overpayment, the buttons the viewer
// may press, and its history from the audit log.
func (h *Handler) refundShow(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	p := auth.Current(c)
	r, err := h.Billing.RefundDetail(c.UserContext(), id, deptScope(p))
	if err != nil {
		return err
	}
	logs, err := h.Billing.RefundTimeline(c.UserContext(), r.RefundNo)
	if err != nil {
		return err
	}
	timeline := make([]refundEvent, len(logs))
	for i, l := range logs {
		timeline[i] = refundEvent{AuditLog: l, Label: billing.RefundActionLabel(l.Action)}
		switch l.Action {
		case "refund.approved", "refund.rejected", "refund.failed":
			timeline[i].Note = l.Detail // the decision note, or the channel's message
		}
	}
	finance := p.Has(store.RoleFinance)
	return h.page(c, "console/refunds_show", "退款 "+r.RefundNo, fiber.Map{
		"Refund":     refundRow{r},
		"Timeline":   timeline,
		"CanDecide":  finance && r.Status == store.RefundPending,
		"OwnRequest": r.RequestedBy == p.Login,
		"CanSync":    finance && (r.Status == store.RefundApproved || r.Status == store.RefundProcessing),
	})
}

// refundEvent is one line of a refund's history.
type refundEvent struct {
	*store.AuditLog
	Label string
	Note  string
}
