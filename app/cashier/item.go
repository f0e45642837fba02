package cashier

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/app/bizday"
	"campuspay/app/fault"
	"campuspay/app/money"
	"campuspay/app/web"
	"campuspay/store"
)

// itemForm is the page an open item's poster QR code opens: anyone, with or without an
// account, enters name, phone and (for a payer-entered item) the amount.
func (h *Handler) itemForm(c *fiber.Ctx) error {
	item, err := h.Billing.OpenItem(c.UserContext(), c.Params("code"))
	if err != nil {
		return err
	}
	return h.Render.Render(c, "cashier/item", item.Name, h.itemData(c, item, fiber.Map{"Closed": billing.Payable(item, h.now())}))
}

// itemData adds to an item page's data the item and the ways a guest may pay it here.
func (h *Handler) itemData(c *fiber.Ctx, item *store.ChargeItem, data fiber.Map) fiber.Map {
	chans := h.guestChoices(c, item.MerchantID)
	data["Item"], data["Channels"] = item, chans
	if len(chans) == 0 {
		data["NoChannel"] = noGuestChannel
	}
	return data
}

func (h *Handler) itemPay(c *fiber.Ctx) error {
	item, err := h.Billing.OpenItem(c.UserContext(), c.Params("code"))
	if err != nil {
		return err
	}
	name, way := parseChoice(c)
	req := billing.GuestRequest{ItemCode: item.Code, Name: c.FormValue("name"), Phone: c.FormValue("phone"), Channel: name}
	form := h.itemData(c, item, fiber.Map{"Name": req.Name, "Phone": req.Phone, "Amount": c.FormValue("amount"), "Channel": c.FormValue("channel")})
	chans := form["Channels"].([]payChoice)
	switch {
	case len(chans) == 0:
		form["Error"] = noGuestChannel
		return h.Render.Render(c.Status(fiber.StatusServiceUnavailable), "cashier/item", item.Name, form)
	case req.Channel == "" && len(chans) == 1:
		req.Channel, way = chans[0].Channel, chans[0].Way
	case !slices.ContainsFunc(chans, func(ch payChoice) bool { return ch.Channel == name && (way == "" || ch.Way == way) }):
		form["Error"] = "请选择支付方式"
		return h.Render.Render(c.Status(fiber.StatusUnprocessableEntity), "cashier/item", item.Name, form)
	}
	if item.Pricing == store.PricingPayerEntered {
		fen, err := money.ParseYuan(c.FormValue("amount"))
		if err != nil {
			var pe *money.ParseError
			form["Error"] = "请填写金额"
			if errors.As(err, &pe) {
				form["Error"] = "金额：" + pe.Message
			}
			return h.Render.Render(c.Status(fiber.StatusUnprocessableEntity), "cashier/item", item.Name, form)
		}
		req.AmountFen = fen
	}
	order, err := h.Billing.CreateGuestOrder(c.UserContext(), req)
	if err != nil {
		var be *fault.Error
		if errors.As(err, &be) && errors.Is(be.Kind, fault.ErrInvalid) {
			form["Error"] = be.Message
			return h.Render.Render(c.Status(fiber.StatusUnprocessableEntity), "cashier/item", item.Name, form)
		}
		return err
	}
	if err := auth.AddGuestOrder(c, order.OrderNo); err != nil {
		return err
	}
	return h.pay(c, order, req.Channel, way)
}

// poster is a printable poster with the item's QR code, for a department to put up.
func (h *Handler) poster(c *fiber.Ctx) error {
	item, err := h.Billing.OpenItem(c.UserContext(), c.Params("code"))
	if err != nil {
		return err
	}
	return h.Render.Render(c, "cashier/poster", item.Name, fiber.Map{"Item": item, "URL": h.BaseURL + "/i/" + item.Code})
}

func (h *Handler) itemQR(c *fiber.Ctx) error {
	item, err := h.Billing.OpenItem(c.UserContext(), c.Params("code"))
	if err != nil {
		return err
	}
	return sendQR(c, h.BaseURL+"/i/"+item.Code, 512)
}

// LookupLimit throttles order look-ups per address: order number and phone are both
// guessable, so LookupLimit.Max look-ups that find nothing within its window refuse the
// address until the window ends.
var LookupLimit = auth.Limit{Scope: "lookup", Max: 10, Window: 15 * time.Minute}

// lookupForm and lookup let an off-campus payer find a payment by order number and phone.
func (h *Handler) lookupForm(c *fiber.Ctx) error {
	return h.Render.Render(c, "cashier/lookup", "查询缴费", nil)
}

func (h *Handler) lookup(c *fiber.Ctx) error {
	no, phone := strings.TrimSpace(c.FormValue("order_no")), strings.TrimSpace(c.FormValue("phone"))
	now := h.now()
	v, err := auth.Hit(c.UserContext(), h.Billing.DB, LookupLimit, c.IP(), now)
	if err != nil {
		return err
	}
	if !v.Allowed {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(v.RetryAfter(now)/time.Second)))
		return h.Render.Render(c.Status(fiber.StatusTooManyRequests), "cashier/lookup", "查询缴费",
			fiber.Map{"Error": "查询次数过多，请于 " + v.Until.In(bizday.Shanghai).Format("15:04") + " 后再试", "OrderNo": no, "Phone": phone})
	}
	o, err := h.Billing.LookupOrder(c.UserContext(), no, phone)
	if err == nil { // found: not a guess
		if err := auth.Forgive(c.UserContext(), h.Billing.DB, LookupLimit, c.IP()); err != nil {
			return err
		}
	}
	if err != nil {
		return h.Render.Render(c.Status(fiber.StatusNotFound), "cashier/lookup", "查询缴费",
			fiber.Map{"Error": fault.Message(err, "查询失败"), "OrderNo": no, "Phone": phone})
	}
	if err := auth.AddGuestOrder(c, o.OrderNo); err != nil {
		return err
	}
	return web.Redirect(c, "/pay/orders/"+o.OrderNo)
}
