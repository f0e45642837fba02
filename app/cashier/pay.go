package cashier

import (
	"cmp"
	"encoding/json"
	"net/url"
	"slices"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/app/channel"
	"campuspay/app/channel/wechatpay"
	wechatsim "campuspay/app/sim/wechatpay"
	"campuspay/app/web"
	"campuspay/store"
)

// orderPay pays an open order through the channel and way the form names (empty: the
// order's channel, its best way here): "重新发起支付", or another way of the same channel.
func (h *Handler) orderPay(c *fiber.Ctx) error {
	o, err := h.order(c)
	if err != nil {
		return err
	}
	name, way := parseChoice(c)
	if name == "" {
		name = o.Channel
	}
	return h.pay(c, o, name, way)
}

// pay asks the channel for the payment of an open order by way (empty: its best way here)
// and answers with what the payer does next. A channel that needs the payer's password
// (the campus card) is paid from the order page's form instead; WeChat's way inside
// WeChat first needs the payer's openid (pay_oauth.go).
func (h *Handler) pay(c *fiber.Ctx, o *store.Order, name string, way channel.Way) error {
	way, err := h.wayHere(c, name, way)
	if err != nil {
		return err
	}
	return h.payMade(c, o, name, way, nil)
}

// paysAtOnce: pay, given this channel and way (already the way here), asks the channel in
// the same request, so an order made for it may carry its first attempt
// (billing.CreateOrderToPay). Not so for a channel that needs the payer's password, nor
// for WeChat inside WeChat, which may first send the payer to fetch their openid.
func (h *Handler) paysAtOnce(name string, way channel.Way) bool {
	return !h.Billing.Capabilities(name).NeedsPassword && way != channel.WayWxJSAPI
}

// payMade is pay with the way settled, and made the attempt billing recorded with the
// order (nil: none).
func (h *Handler) payMade(c *fiber.Ctx, o *store.Order, name string, way channel.Way, made *store.PaymentAttempt) error {
	if h.Billing.Capabilities(name).NeedsPassword {
		return web.Redirect(c, orderPath(o))
	}
	openID := ""
	if way == channel.WayWxJSAPI {
		openID = h.sessionOpenID(c, o.MerchantID, name)
		if openID == "" && h.needsOAuth(c, o, name) {
			q := url.Values{"channel": {name}, "way": {string(way)}}
			return web.Redirect(c, orderPath(o)+"/oauth?"+q.Encode())
		}
	}
	return h.payWith(c, o, name, way, openID, made)
}

// payWith calls billing.Pay and renders its result.
func (h *Handler) payWith(c *fiber.Ctx, o *store.Order, name string, way channel.Way, openID string, made *store.PaymentAttempt) error {
	// o was read (or made) by this request a moment ago: billing checks again under the
	// order's lock what may have changed since.
	o, _, res, err := h.Billing.PayOrder(c.UserContext(), o, billing.PayArgs{
		Channel: name, Way: way, PayerIP: c.IP(), OpenID: openID, Attempt: made,
	})
	if err != nil {
		return err
	}
	switch {
	case res.Paid != nil:
		return web.Redirect(c, orderPath(o))
	case res.Form != nil:
		return h.payForm(c, o, name, res.Form)
	case res.JSAPI != nil:
		return h.payJSAPI(c, o, name, res.JSAPI)
	case formWay(way):
		// The attempt under way is handed back without its form (billing keeps only where
		// it posts): the payer finishes on the company's page already open, or pays another way.
		return fiber.NewError(fiber.StatusConflict, "已发起"+h.Billing.Label(name)+"支付，请在已打开的支付页面完成付款；如该页面已关闭，请返回订单改用其他方式，或取消订单后重新支付")
	case res.RedirectURL != "" && !showsQR(way):
		// A phone's way (or a PC's page pay): straight to the company's page.
		u, err := url.Parse(res.RedirectURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			h.Log.Error("channel gave a pay address that is not a web page", "order", o.OrderNo, "channel", name, "way", way)
			return fiber.NewError(fiber.StatusBadGateway, h.Billing.Label(name)+"暂时无法使用，请稍后或换用其他方式")
		}
		return web.Redirect(c, u.String())
	}
	return web.Redirect(c, orderPath(o)) // the QR code on the order page
}

// showsQR: the way's payment is a code shown on the order page (scanned with another
// device, or opened from there).
func showsQR(way channel.Way) bool {
	return way == channel.WayAliQR || way == channel.WayWxNative || way == channel.WaySandbox
}

// formWay: the way's payment is a form the payer's browser posts to the company.
func formWay(way channel.Way) bool {
	return way == channel.WayUpPC || way == channel.WayUpWAP
}

func orderPath(o *store.Order) string { return "/pay/orders/" + o.OrderNo }

type formField struct{ Name, Value string }

// payForm is a page with the company's form, posted at once by static/js/pay.js (with a
// button for a browser that does not run it).
func (h *Handler) payForm(c *fiber.Ctx, o *store.Order, name string, f *channel.PostForm) error {
	fields := make([]formField, 0, len(f.Fields))
	for k, v := range f.Fields {
		fields = append(fields, formField{k, v})
	}
	slices.SortFunc(fields, func(a, b formField) int { return cmp.Compare(a.Name, b.Name) })
	return h.Render.Render(c, "cashier/pay_form", "前往支付", fiber.Map{
		"Order": o, "Label": h.Billing.Label(name), "Action": f.Action, "Fields": fields,
	})
}

// payJSAPI is a page that opens WeChat's payment sheet (static/js/pay.js) and then goes
// back to the order, which follows the payment. For the demo's fake, which no
// WeixinJSBridge knows, it links to the fake's page that plays the sheet instead.
func (h *Handler) payJSAPI(c *fiber.Ctx, o *store.Order, name string, params map[string]string) error {
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	return h.Render.Render(c, "cashier/pay_jsapi", "微信支付", fiber.Map{"Order": o, "Params": string(raw),
		"DemoSheet": h.demoSheet(c, o, name, params)})
}

// demoSheet is the fake's sheet page for the params when the merchant's account at the
// channel is the demo's (its api_base is the fake's address); "" for a real account.
func (h *Handler) demoSheet(c *fiber.Ctx, o *store.Order, name string, params map[string]string) string {
	gw, err := h.Billing.GatewayFor(c.UserContext(), name, o.MerchantID)
	if err != nil || gw.Account == nil || !gw.Account.Demo {
		return ""
	}
	values, err := h.Billing.Merchants.Values(gw.Account)
	if err != nil || values[wechatpay.FieldAPIBase] == "" {
		h.Log.Warn("demo sheet: the demo account has no api_base", "channel", name, "err", err)
		return ""
	}
	return wechatsim.SheetAt(values[wechatpay.FieldAPIBase], params, h.Billing.ReturnURL(o.OrderNo))
}

// currentWay is the way of the open attempt the order page follows: the latest on the
// order's channel ("" for an order from before attempts, or with none open).
func (h *Handler) currentWay(c *fiber.Ctx, o *store.Order) (channel.Way, error) {
	attempts, err := h.Billing.Attempts(c.UserContext(), o.ID)
	if err != nil {
		return "", err
	}
	for _, a := range slices.Backward(attempts) {
		if a.Status == store.AttemptOpen && a.Channel == o.Channel {
			return channel.Way(a.Way), nil
		}
	}
	return "", nil
}

// ownOrder reports whether the signed-in payer made the order.
func ownOrder(c *fiber.Ctx, o *store.Order) bool {
	p := auth.Current(c)
	return p != nil && o.PayerID != nil && *o.PayerID == p.UserID
}
