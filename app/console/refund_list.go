package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/app/web"
	"campuspay/store"
)

// refundList is the refund queue: finance filters by status and department; department
// staff see their own department's refunds only.
func (h *Handler) refundList(c *fiber.Ctx) error {
	p := auth.Current(c)
	pager := web.NewPager(c, 20)
	f := billing.RefundQueueFilter{Status: store.RefundStatus(c.Query("status")), DeptScope: deptScope(p)}
	if f.DeptScope == nil {
		f.DepartmentID, _ = strconv.ParseInt(c.Query("dept"), 10, 64)
	}
	rows, total, err := h.Billing.RefundQueue(c.UserContext(), f, pager.Offset(), pager.Size)
	if err != nil {
		return err
	}
	pager.Total = total
	data := fiber.Map{"Rows": refundRows(rows), "Pager": pager, "Status": string(f.Status),
		"Dept": f.DepartmentID, "Statuses": refundStatuses, "CanRequest": p.Has(publishers...)}
	if f.DeptScope == nil {
		if data["Departments"], err = h.Billing.RefundDepartments(c.UserContext()); err != nil {
			return err
		}
	}
	return h.page(c, "console/refunds_list", "退款", data)
}

// refundRow is a refund as the pages show it.
type refundRow struct{ *store.Refund }

func refundRows(rs []*store.Refund) []refundRow {
	out := make([]refundRow, len(rs))
	for i, r := range rs {
		out[i] = refundRow{r}
	}
	return out
}

// StatusLabel is the refund's status in Chinese.
func (r refundRow) StatusLabel() string { return billing.RefundStatusLabel(r.Status) }

// PayerName is who gets the money back.
func (r refundRow) PayerName() string {
	if r.Bill != nil && r.Bill.ID != 0 {
		return r.Bill.PayerName
	}
	if r.Order != nil {
		return r.Order.PayerName
	}
	return ""
}

// What names what is refunded: the item, or an overpayment.
func (r refundRow) What() string {
	if r.Bill != nil && r.Bill.Item != nil && r.Bill.Item.ID != 0 {
		return r.Bill.Item.Name
	}
	return "溢缴款退回"
}

// DeptName is the department of the refunded item ("" for an overpayment).
func (r refundRow) DeptName() string {
	if r.Bill != nil && r.Bill.Item != nil && r.Bill.Item.Department != nil {
		return r.Bill.Item.Department.Name
	}
	return ""
}

// refundStatusOption is one choice of a status filter.
type refundStatusOption struct{ Value, Label string }

var refundStatuses = func() []refundStatusOption {
	var out []refundStatusOption
	for _, s := range []store.RefundStatus{store.RefundPending, store.RefundApproved, store.RefundProcessing,
		store.RefundSucceeded, store.RefundFailed, store.RefundRejected} {
		out = append(out, refundStatusOption{string(s), billing.RefundStatusLabel(s)})
	}
	return out
}()
