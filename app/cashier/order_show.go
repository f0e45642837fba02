package cashier

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/store"
)

// orderShow is the order page: what is being paid, and how to pay it now (a QR code and a
// link for the sandbox, a password form for the campus card), or the receipts once paid.
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
	if o.Status == store.OrderOpen && o.PayURL != "" && (o.LastQueriedAt == nil || time.Since(*o.LastQueriedAt) > 5*time.Second) {
		if synced, err := h.Billing.SyncOrder(c.UserContext(), o.OrderNo); err == nil {
			o = synced
		} else {
			h.Log.Warn("poll: query channel", "order", o.OrderNo, "err", err)
		}
	}
	data, err := h.orderData(c, o)
	if err != nil {
		return err
	}
	return h.Render.Fragment(c, "cashier/_order_status", data)
}

func (h *Handler) orderData(c *fiber.Ctx, o *store.Order) (fiber.Map, error) {
	// Only a paid order shows receipts: the open one is polled every 2 s and needs none.
	var receipts []*store.Receipt
	if o.Status == store.OrderPaid {
		var err error
		if receipts, err = h.Billing.OrderReceipts(c.UserContext(), o.ID); err != nil {
			return nil, err
		}
	}
	ua := strings.ToLower(c.Get(fiber.HeaderUserAgent))
	mobile := strings.Contains(ua, "mobile") || strings.Contains(ua, "android") || strings.Contains(ua, "iphone")
	expired := o.Status == store.OrderOpen && !h.now().Before(o.ExpiresAt)
	handoff := ""
	if o.Status == store.OrderOpen && !mobile {
		handoff = h.handoffURL(o)
	}
	// The payer's own open order may be paid another way (a new order on that channel).
	var switchTo []channelChoice
	if p := auth.Current(c); o.Status == store.OrderOpen && !expired && p != nil && o.PayerID != nil && *o.PayerID == p.UserID {
		all, err := h.channels(c)
		if err != nil {
			return nil, err
		}
		for _, ch := range all {
			if ch.Name != o.Channel {
				switchTo = append(switchTo, ch)
			}
		}
	}
	return fiber.Map{
		"Order": o, "Receipts": receipts, "Mobile": mobile, "Expired": expired, "HandoffURL": handoff,
		"Guest": o.PayerID == nil, "SwitchTo": switchTo,
	}, nil
}
