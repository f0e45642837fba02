package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/web"
	"campuspay/store"
)

// overpaymentList lists the money no bill could take (open ones first by default), each with
// a one-click refund for finance.
func (h *Handler) overpaymentList(c *fiber.Ctx) error {
	status := c.Query("status", "open")
	if status != "open" && status != "refunded" && status != "all" {
		status = "open"
	}
	filter := status
	if filter == "all" {
		filter = ""
	}
	pager := web.NewPager(c, 20)
	rows, total, err := h.Billing.Overpayments(c.UserContext(), filter, pager.Offset(), pager.Size)
	if err != nil {
		return err
	}
	pager.Total = total
	return h.page(c, "console/overpayments", "待退溢缴款", fiber.Map{
		"Rows": rows, "Pager": pager, "Status": status, "CanRefund": auth.Current(c).Has(store.RoleFinance),
	})
}
