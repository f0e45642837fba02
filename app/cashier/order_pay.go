package cashier

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/app/bizday"
	"campuspay/app/fault"
	"campuspay/app/web"
	"campuspay/store"
)

// orderCard pays an order from the payer's campus card with the card password. A wrong
// password, a frozen card or a short balance shows the card system's reason and changes
// nothing; the payer may try again.
func (h *Handler) orderCard(c *fiber.Ctx) error {
	o, err := h.order(c)
	if err != nil {
		return err
	}
	p := auth.Current(c)
	if !ownOrder(c, o) {
		return fiber.NewError(fiber.StatusForbidden, "校园卡支付需登录本人账号")
	}
	if !h.Billing.Capabilities(o.Channel).NeedsPassword {
		return fiber.NewError(fiber.StatusConflict, "该订单不使用校园卡支付，请刷新页面")
	}
	password := c.FormValue("password")
	if len(password) < 4 || len(password) > 32 {
		return fiber.NewError(fiber.StatusUnprocessableEntity, "请输入校园卡密码")
	}
	// Counted before the card system sees the password, per payer and per card: a lock
	// refuses even the right password until it ends.
	now := h.now()
	keys := []string{strconv.FormatInt(p.UserID, 10), p.PayerNo}
	for i, l := range cardLimits {
		v, err := auth.Hit(c.UserContext(), h.Billing.DB, l, keys[i], now)
		if err != nil {
			return err
		}
		if !v.Allowed {
			h.Log.Info("card password locked", "payer", p.PayerNo, "order", o.OrderNo, "ip", c.IP())
			return fiber.NewError(fiber.StatusTooManyRequests, fmt.Sprintf(
				"校园卡密码错误次数过多，校园卡支付已暂停，请于 %s 后再试。暂停期间即使输入正确的密码也无法支付，您也可以换用其他支付方式。",
				v.Until.In(bizday.Shanghai).Format("15:04")))
		}
	}
	_, _, _, err = h.Billing.Pay(c.UserContext(), o.OrderNo, billing.PayArgs{PayerNo: p.PayerNo, Password: password, PayerIP: c.IP()})
	if be := (*fault.Error)(nil); errors.As(err, &be) && be.Code == "wrong_password" {
		return err // counted
	}
	for i, l := range cardLimits { // not a wrong password: not a guess
		if ferr := auth.Forgive(c.UserContext(), h.Billing.DB, l, keys[i]); ferr != nil {
			return ferr
		}
	}
	if err != nil {
		return err
	}
	return web.Redirect(c, "/pay/orders/"+o.OrderNo)
}

// Campus-card password guessing: CardMaxFailures wrong passwords within CardLockFor, per
// payer or per card, lock card payment for CardLockFor (the card system may count too).
const (
	CardMaxFailures = 5
	CardLockFor     = 15 * time.Minute
)

var cardLimits = []auth.Limit{
	{Scope: "card.payer", Max: CardMaxFailures, Window: CardLockFor, LockFor: CardLockFor},
	{Scope: "card.card", Max: CardMaxFailures, Window: CardLockFor, LockFor: CardLockFor},
}

// orderCancel cancels an open order at the payer's request: the channel closes the trade
// first, then the bills are released at once (billing.CancelOrder).
func (h *Handler) orderCancel(c *fiber.Ctx) error {
	o, err := h.order(c)
	if err != nil {
		return err
	}
	actor := "guest"
	if p := auth.Current(c); p != nil {
		actor = p.Login
	}
	o, err = h.Billing.CancelOrder(c.UserContext(), o.OrderNo, actor)
	if err != nil {
		return err
	}
	if o.PayerID == nil || o.Status == store.OrderPaid {
		return web.Redirect(c, "/pay/orders/"+o.OrderNo)
	}
	return web.Redirect(c, "/pay")
}

// orderSwitch pays an open order's bills through another channel: the order is cancelled
// (its trade closed at its channel) and a new one made for the same bills on the chosen
// channel (billing.SwitchOrderChannel), then paid by the chosen way. Only the signed-in
// payer's own orders switch. The same channel again is another way of paying this order.
func (h *Handler) orderSwitch(c *fiber.Ctx) error {
	o, err := h.order(c)
	if err != nil {
		return err
	}
	p := auth.Current(c)
	if !ownOrder(c, o) {
		return fiber.NewError(fiber.StatusForbidden, "更换支付方式需登录本人账号")
	}
	name, way := parseChoice(c)
	if name == o.Channel {
		return h.pay(c, o, name, way)
	}
	if way, err = h.wayHere(c, name, way); err != nil {
		return err
	}
	next, err := h.Billing.SwitchOrderChannel(c.UserContext(), o.OrderNo, p.Login, name)
	if err != nil {
		return err
	}
	if next.Status != store.OrderOpen {
		return web.Redirect(c, orderPath(next)) // paid meanwhile
	}
	return h.pay(c, next, name, way)
}

// returnFromChannel is where a channel's hosted page sends the payer back: ask the channel
// at once rather than wait for its notification, then show the order.
func (h *Handler) returnFromChannel(c *fiber.Ctx) error {
	o, err := h.order(c)
	if err != nil {
		return err
	}
	if _, err := h.Billing.SyncOrder(c.UserContext(), o.OrderNo); err != nil {
		h.Log.Warn("return: query channel", "order", o.OrderNo, "err", err)
	}
	return c.Redirect("/pay/orders/"+o.OrderNo, fiber.StatusSeeOther)
}

// returnPosted turns a company's posted return into the ordinary one: what it posts is not
// read (the GET asks the channel itself).
func returnPosted(c *fiber.Ctx) error {
	no := c.Params("no")
	if !orderNoRE.MatchString(no) {
		return fiber.ErrNotFound
	}
	return c.Redirect("/pay/return/"+no, fiber.StatusSeeOther)
}

var orderNoRE = regexp.MustCompile(`^[0-9A-Za-z]{1,32}$`)
