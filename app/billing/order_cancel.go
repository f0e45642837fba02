package billing

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"campuspay/app/fault"
	"campuspay/store"
)

// CancelOrder closes an open order at its payer's request. The channel is told first and
// must confirm that it takes no more payment for the order; only then are the order closed
// and its bills released, in one transaction, so that the payer can tick them again at once.
// When the channel cannot confirm, nothing changes and the payer is told to try later. A
// payment the channel took before it closed is applied instead (the order comes back
// paid); one that still arrives afterwards is a late payment, like that of an expired order.
func (s *Service) CancelOrder(ctx context.Context, orderNo, actor string) (*store.Order, error) {
	return s.closeOrder(ctx, orderNo, actor, "order.cancelled", true)
}

// SwitchOrderChannel moves the payment of an open order to another channel: it cancels the
// order (CancelOrder) and makes a new one for the same bills and amounts on the chosen
// channel, which it returns. An order carries one channel trade under its own number, and
// channels do not take a closed trade number again, so a new order is the clean way to pay
// elsewhere. The chosen channel is checked before anything changes; if the new order then
// cannot be made (a bill changed meanwhile), the bills stay released and the error says why.
// An order that turns out paid is returned as it is, with no new order.
func (s *Service) SwitchOrderChannel(ctx context.Context, orderNo, actor, channelName string) (*store.Order, error) {
	old, err := s.Order(ctx, orderNo)
	if err != nil {
		return nil, err
	}
	if _, err := s.gatewayForNew(ctx, channelName, old.MerchantID); err != nil {
		return nil, err
	}
	if old.PayerID == nil {
		return nil, fault.New(fault.ErrInvalid, "guest_order", "该订单不能更换支付方式，请取消后重新下单")
	}
	if old.Channel == channelName {
		return nil, fault.New(fault.ErrInvalid, "same_channel", "订单已在使用%s支付", ChannelLabel(channelName))
	}
	if old.Status != store.OrderOpen {
		return nil, fault.New(fault.ErrConflict, "order_not_open", "订单%s，不能更换支付方式", OrderStatusLabel(old.Status))
	}
	lines := make([]LineRequest, len(old.Lines))
	for i, l := range old.Lines {
		lines[i] = LineRequest{BillID: l.BillID, AmountFen: l.AmountFen}
	}
	closed, err := s.CancelOrder(ctx, orderNo, actor)
	if err != nil {
		return nil, err
	}
	if closed.Status != store.OrderClosed {
		return closed, nil // paid meanwhile
	}
	return s.CreateOrder(ctx, OrderRequest{PayerID: *old.PayerID, Lines: lines, Channel: channelName})
}

// PayerOpenOrders returns the payer's orders that can still be paid (open and not past their
// expiry), newest first, with their lines, bills and items: the cashier shows them above the
// bills they hold.
func (s *Service) PayerOpenOrders(ctx context.Context, payerID int64) ([]*store.Order, error) {
	var orders []*store.Order
	err := s.DB.NewSelect().Model(&orders).
		Relation("Lines", func(q *bun.SelectQuery) *bun.SelectQuery { return q.OrderExpr("order_line.id") }).
		Relation("Lines.Bill").Relation("Lines.Bill.Item").
		Where("?TableAlias.payer_id = ?", payerID).Where("?TableAlias.status = ?", store.OrderOpen).
		Where("?TableAlias.expires_at > ?", s.now()).
		OrderExpr("?TableAlias.created_at DESC, ?TableAlias.id DESC").Limit(MaxOrderLines).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("billing: open orders: %w", err)
	}
	return orders, nil
}

// PayerOrderHistory returns a payer's orders of every status (open, paid, closed), newest
// first, with what each paid for.
func (s *Service) PayerOrderHistory(ctx context.Context, payerID int64, limit int) ([]*store.Order, error) {
	var orders []*store.Order
	err := s.DB.NewSelect().Model(&orders).
		Relation("Lines", func(q *bun.SelectQuery) *bun.SelectQuery { return q.OrderExpr("order_line.id") }).
		Relation("Lines.Bill").Relation("Lines.Bill.Item").
		Where("?TableAlias.payer_id = ?", payerID).
		OrderExpr("?TableAlias.created_at DESC, ?TableAlias.id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("billing: payer order history: %w", err)
	}
	return orders, nil
}
