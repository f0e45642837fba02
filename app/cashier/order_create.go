package cashier

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/app/fault"
	"campuspay/app/money"
	"campuspay/store"
)

// orderCreate turns the ticked bills into an order on the chosen channel and pays it by the
// chosen way (pay). A selection the order cannot take — bills of several merchants, a
// channel not open to their merchant — shows the bills page again with the reason and the
// ticks kept; nothing is made.
func (h *Handler) orderCreate(c *fiber.Ctx) error {
	p := auth.Current(c)
	ids, err := billIDs(c)
	if err != nil {
		return err
	}
	form := billsForm{Selected: map[int64]bool{}, Amounts: map[int64]string{}, Channel: c.FormValue("channel")}
	lines := make([]billing.LineRequest, 0, len(ids))
	for _, id := range ids {
		form.Selected[id] = true
		l := billing.LineRequest{BillID: id}
		if s := strings.TrimSpace(c.FormValue("amount_" + strconv.FormatInt(id, 10))); s != "" {
			form.Amounts[id] = s
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
	name, way := parseChoice(c)
	if way, err = h.wayHere(c, name, way); err != nil {
		return err
	}
	req := billing.OrderRequest{PayerID: p.UserID, Lines: lines, Channel: name}
	var (
		order *store.Order
		made  *store.PaymentAttempt
	)
	if h.paysAtOnce(name, way) {
		order, made, err = h.Billing.CreateOrderToPay(c.UserContext(), req, way)
	} else {
		order, err = h.Billing.CreateOrder(c.UserContext(), req)
	}
	var fe *fault.Error
	if errors.As(err, &fe) && (errors.Is(fe.Kind, fault.ErrInvalid) || errors.Is(fe.Kind, fault.ErrConflict)) {
		form.Error = fe.Message
		status, _ := fault.Status(err)
		return h.billsPage(c, status.Status, form)
	}
	if err != nil {
		return err
	}
	return h.payMade(c, order, name, way, made)
}
