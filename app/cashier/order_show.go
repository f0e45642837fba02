package cashier

import (
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/channel"
	"campuspay/store"
)

// orderShow is the order page: what is being paid, and how to pay it now (orderData), or
// the receipts once paid.
func (h *Handler) orderShow(c *fiber.Ctx) error {
	o, err := h.order(c)
	if err != nil {
		return err
	}
	data, err := h.orderData(c, o)
	if err != nil {
		return err
	}
	return h.Render.Render(c, "cashier/order", "订单 "+o.OrderNo, data)
}

// orderStatus is what the order page polls while the order is open. While open it asks the
// channel itself now and then (the notification may be slow or lost); once the order is
// paid or closed it answers with the final block, which polls no more.
func (h *Handler) orderStatus(c *fiber.Ctx) error {
	o, err := h.order(c)
	if err != nil {
		return err
	}
	if o.Status == store.OrderOpen && h.StatusWait > 0 && h.now().Before(o.ExpiresAt) {
		if o, err = h.awaitPayment(c, o); err != nil {
			return err
		}
	}
	if o.Status == store.OrderOpen && (o.LastQueriedAt == nil || time.Since(*o.LastQueriedAt) > 5*time.Second) {
		// Only an order with something to pay at a channel: a page, or an attempt under way
		// (WeChat's sheet leaves no page).
		way, err := h.currentWay(c, o)
		if err != nil {
			return err
		}
		if o.PayURL != "" || way != "" {
			if synced, err := h.Billing.SyncOrder(c.UserContext(), o.OrderNo); err == nil {
				o = synced
			} else {
				h.Log.Warn("poll: query channel", "order", o.OrderNo, "err", err)
			}
		}
	}
	data, err := h.orderData(c, o)
	if err != nil {
		return err
	}
	return h.Render.Fragment(c, "cashier/_order_status", data)
}

// awaitPayment holds a poll of an open order until this instance applies a payment to it,
// at most StatusWait, and reads the order again: the payer sees 支付成功 as soon as the
// notification is applied, and polls far less while a company is slow. A payment applied
// between the first read and the watch, or on another instance, is found by the second
// read once the wait runs out.
func (h *Handler) awaitPayment(c *fiber.Ctx, o *store.Order) (*store.Order, error) {
	paid, stop := h.Billing.WatchPayment(o.OrderNo)
	defer stop()
	timer := time.NewTimer(h.StatusWait)
	defer timer.Stop()
	select {
	case <-paid:
	case <-timer.C:
	case <-c.UserContext().Done():
	}
	return h.order(c)
}

// orderData is what the order page and its status block show: for an open order, how to
// pay it now by the way under way (a QR code, a link to the company's page, a button that
// asks again, or the campus card's password form), other ways of the same channel and the
// other channels; once paid, the receipts.
func (h *Handler) orderData(c *fiber.Ctx, o *store.Order) (fiber.Map, error) {
	// Only a paid order shows receipts: the open one is polled every 2 s and needs none.
	var receipts []*store.Receipt
	if o.Status == store.OrderPaid {
		var err error
		if receipts, err = h.Billing.OrderReceipts(c.UserContext(), o.ID); err != nil {
			return nil, err
		}
	}
	// A receipt still without its number after OrderReceipts waited shows 编号中, and the
	// paid block keeps polling until it has one.
	numbering := false
	for _, r := range receipts {
		numbering = numbering || !r.Numbered()
	}
	mobile := place(c) != channel.PlacePC
	open := o.Status == store.OrderOpen && h.now().Before(o.ExpiresAt)
	data := fiber.Map{
		"Order": o, "Receipts": receipts, "Numbering": numbering, "Mobile": mobile, "Expired": o.Status == store.OrderOpen && !open,
		"Guest": o.PayerID == nil, "ChannelLabel": h.Billing.Label(o.Channel),
		"Password": h.Billing.Capabilities(o.Channel).NeedsPassword,
	}
	if !open {
		return data, nil
	}
	way, err := h.currentWay(c, o)
	if err != nil {
		return nil, err
	}
	data["Way"] = way
	// How the page offers the payment under way: the QR code (with a link on a phone, and
	// the hand-off to a phone on a PC), a link to the company's page, word that its page
	// was opened (a form cannot be posted twice), or a button that asks the channel (again,
	// for WeChat's sheet).
	switch {
	case o.PayURL == "" || way == channel.WayWxJSAPI:
		data["Sheet"] = way == channel.WayWxJSAPI // and a button that asks the channel
	case formWay(way):
		data["Posted"] = true
	case showsQR(way) || way == "":
		data["QR"] = true
		// A code that is a web page can be opened here too (WeChat's weixin:// cannot).
		u, err := url.Parse(o.PayURL)
		data["OpenHere"] = err == nil && (u.Scheme == "http" || u.Scheme == "https")
		if !mobile {
			data["HandoffURL"] = h.handoffURL(o)
		}
	default:
		data["Link"] = true
	}
	all := h.choices(c, o.MerchantID, o.PayerID == nil)
	var others []payChoice
	for _, ch := range all {
		if ch.Channel == o.Channel && ch.Way != way && !ch.Password {
			others = append(others, ch)
		}
	}
	data["OtherWays"] = others
	// The payer's own open order may be paid through another channel (a new order on it).
	data["SwitchTo"] = h.switchChoices(c, o, all)
	return data, nil
}
