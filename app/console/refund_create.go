package console

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/app/money"
	"campuspay/app/web"
)

// refundCreate asks for a refund of a bill: the amount in yuan, a reason. A wrong amount or
// more than may be refunded is told beside the form, and nothing is written.
func (h *Handler) refundCreate(c *fiber.Ctx) error {
	billID, err := strconv.ParseInt(c.FormValue("bill"), 10, 64)
	if err != nil || billID <= 0 {
		return fiber.NewError(fiber.StatusNotFound, "款项不存在")
	}
	amount, err := money.ParseYuan(c.FormValue("amount"))
	var pe *money.ParseError
	if errors.As(err, &pe) {
		return fiber.NewError(fiber.StatusUnprocessableEntity, "退款金额："+pe.Message)
	}
	if err != nil {
		return err
	}
	r, err := h.Billing.RequestRefund(c.UserContext(), billing.RefundRequest{
		BillID: billID, AmountFen: amount, Reason: c.FormValue("reason"),
		Actor: actor(c), DeptScope: deptScope(auth.Current(c)),
	})
	if err != nil {
		return err
	}
	return web.Redirect(c, "/console/refunds/"+strconv.FormatInt(r.ID, 10))
}
