package cashier

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/web"
	"campuspay/store"
)

// orderStart asks the channel again for a payment page (the payer came back to an open
// order whose link was never made, e.g. the channel was down a moment ago).
func (h *Handler) orderStart(c *fiber.Ctx) error {
	o, err := h.order(c)
	if err != nil {
		return err
	}
	if _, _, err := h.Billing.StartPayment(c.Context(), o.OrderNo, "", ""); err != nil {
		return err
	}
	return web.Redirect(c, "/pay/orders/"+o.OrderNo)
}

// orderCard pays an order from the payer's campus card with the card password. A wrong
// password, a frozen card or a short balance shows the card system's reason and changes
// nothing; the payer may try again.
func (h *Handler) orderCard(c *fiber.Ctx) error {
	o, err := h.order(c)
	if err != nil {
		return err
	}
	p := auth.Current(c)
	if p == nil || o.PayerID == nil || *o.PayerID != p.UserID {
		return fiber.NewError(fiber.StatusForbidden, "校园卡支付需登录本人账号")
	}
	password := c.FormValue("password")
	if len(password) < 4 || len(password) > 32 {
		return fiber.NewError(fiber.StatusUnprocessableEntity, "请输入校园卡密码")
	}
	if _, _, err := h.Billing.StartPayment(c.Context(), o.OrderNo, p.PayerNo, password); err != nil {
		return err
	}
	return web.Redirect(c, "/pay/orders/"+o.OrderNo)
}

// orderCancel closes an open order at the payer's request, releasing its bills.
func (h *Handler) orderCancel(c *fiber.Ctx) error {
	o, err := h.order(c)
	if err != nil {
		return err
	}
	actor := "guest"
	if p := auth.Current(c); p != nil {
		actor = p.Login
	}
	o, err = h.Billing.CloseOrder(c.Context(), o.OrderNo, actor)
	if err != nil {
		return err
	}
	if o.PayerID == nil || o.Status == store.OrderPaid {
		return web.Redirect(c, "/pay/orders/"+o.OrderNo)
	}
	return web.Redirect(c, "/pay")
}

// returnFromChannel is where a channel's hosted page sends the payer back: ask the channel
// at once rather than wait for its notification, then show the order.
func (h *Handler) returnFromChannel(c *fiber.Ctx) error {
	o, err := h.order(c)
	if err != nil {
		return err
	}
	if _, err := h.Billing.SyncOrder(c.Context(), o.OrderNo); err != nil {
		h.Log.Warn("return: query channel", "order", o.OrderNo, "err", err)
	}
	return c.Redirect("/pay/orders/"+o.OrderNo, fiber.StatusSeeOther)
}

// notify takes a channel's asynchronous notification.
func (h *Handler) notify(c *fiber.Ctx) error {
	if len(c.Body()) > NotifyBodyLimit { // the server refuses it before; this handler is sure of it
		return fiber.ErrRequestEntityTooLarge
	}
	header := make(map[string][]string)
	c.Request().Header.VisitAll(func(k, v []byte) {
		header[string(k)] = append(header[string(k)], string(v))
	})
	ct, ack, err := h.Billing.HandleNotification(c.Context(), c.Params("channel"), header, c.Body(), c.IP())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, ct)
	return c.Send(ack)
}
