package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/money"
)

// refundNew is the refund request form for one bill (?bill=ID): the bill, what was paid and
// what may still be refunded. Without a bill it finds a payer's paid bills (?payer=学号).
func (h *Handler) refundNew(c *fiber.Ctx) error {
	scope := deptScope(auth.Current(c))
	billID, _ := strconv.ParseInt(c.Query("bill"), 10, 64)
	if billID <= 0 {
		bills, err := h.Billing.RefundableBills(c.UserContext(), c.Query("payer"), scope)
		if err != nil {
			return err
		}
		return h.page(c, "console/refunds_find", "申请退款", fiber.Map{"Payer": c.Query("payer"), "Bills": bills})
	}
	q, err := h.Billing.RefundQuote(c.UserContext(), billID, scope)
	if err != nil {
		return err
	}
	return h.page(c, "console/refunds_new", "申请退款", fiber.Map{"Quote": q, "Amount": money.Plain(q.RefundableFen)})
}
