package cashier

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/app/money"
	"campuspay/app/web"
)

// orderCreate turns the ticked bills into an order on the chosen channel. For an
// asynchronous channel it asks the channel for the payment at once; for the campus card the
// order page then asks for the card password.
func (h *Handler) orderCreate(c *fiber.Ctx) error {
	p := auth.Current(c)
	ids, err := billIDs(c)
	if err != nil {
		return err
	}
	lines := make([]billing.LineRequest, 0, len(ids))
	for _, id := range ids {
		l := billing.LineRequest{BillID: id}
		if s := strings.TrimSpace(c.FormValue("amount_" + strconv.FormatInt(id, 10))); s != "" {
			fen, err := money.ParseYuan(s)
			if err != nil {
				var pe *money.ParseError
				if errors.As(err, &pe) {
					return fiber.NewError(fiber.StatusUnprocessableEntity, "本次缴费金额："+pe.Message)
				}
				return fiber.NewError(fiber.StatusUnprocessableEntity, "本次缴费金额无效")
			}
			l.AmountFen = fen
		}
		lines = append(lines, l)
	}
	order, err := h.Billing.CreateOrder(c.UserContext(), billing.OrderRequest{PayerID: p.UserID, Lines: lines, Channel: c.FormValue("channel")})
	if err != nil {
		return err
	}
	if order.Channel != "campuscard" {
		if _, _, err := h.Billing.StartPayment(c.UserContext(), order.OrderNo, "", ""); err != nil {
			return err
		}
	}
	return web.Redirect(c, "/pay/orders/"+order.OrderNo)
}
