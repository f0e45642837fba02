package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/bizday"
	"campuspay/app/fault"
	"campuspay/store"
)

// PayLinkDays is how long a pay_url is valid at most, counted from the bill's creation.
const PayLinkDays = 30

// PayLinkExpiry is when a bill's pay_url stops working: the end of its due date in
// bizday.Shanghai, but never later than PayLinkDays after the bill was made.
func PayLinkExpiry(b *store.Bill) time.Time {
	exp := b.CreatedAt.Add(PayLinkDays * 24 * time.Hour)
	if b.DueDate != nil {
		y, m, d := b.DueDate.Date()
		if end := time.Date(y, m, d+1, 0, 0, 0, 0, bizday.Shanghai); end.Before(exp) {
			exp = end
		}
	}
	return exp
}

// PayLinkBill returns the bill a pay_url names, with its item and department.
func (s *Service) PayLinkBill(ctx context.Context, billID string) (*store.Bill, error) {
	id, err := strconv.ParseInt(billID, 10, 64)
	if err != nil || id <= 0 {
		return nil, fault.New(fault.ErrNotFound, "not_found", "账单不存在")
	}
	b := new(store.Bill)
	if err := s.DB.NewSelect().Model(b).Relation("Item").Relation("Item.Department").Where("bill.id = ?", id).Scan(ctx); err != nil {
		return nil, fault.NotFound(err, "账单不存在")
	}
	return b, nil
}

// CreateBillOrder makes the order an off-campus payer pays a business system's bill with
// (opened from its pay_url: there is no account to sign in to). When an open order already
// holds the bill — the payer opened the link twice — that order is handed back (created
// false) instead.
func (s *Service) CreateBillOrder(ctx context.Context, billID int64, channelName string) (*store.Order, bool, error) {
	merchantID, err := s.MerchantOf(ctx, []int64{billID})
	if err != nil {
		return nil, false, err
	}
	gw, err := s.gatewayForNew(ctx, channelName, merchantID)
	if err != nil {
		return nil, false, err
	}
	if !gw.Caps.Guests {
		return nil, false, fault.New(fault.ErrInvalid, "channel_invalid", "校外缴费不支持%s", gw.Caps.Label)
	}
	now := s.now()
	var order *store.Order
	created := false
	err = store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		b := new(store.Bill)
		if err := store.ForUpdate(tx.NewSelect().Model(b).Where("id = ?", billID)).Scan(ctx); err != nil {
			return fault.NotFound(err, "账单不存在")
		}
		if b.PayerID != nil {
			return fault.New(fault.ErrForbidden, "bill_not_yours", "校内缴费人的账单请登录后支付")
		}
		if b.HeldByOrderID != nil && b.HeldUntil != nil && b.HeldUntil.After(now) {
			open := new(store.Order)
			err := tx.NewSelect().Model(open).Where("id = ?", *b.HeldByOrderID).Where("status = ?", store.OrderOpen).Scan(ctx)
			if err == nil {
				order, created = open, false
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("billing: holding order: %w", err)
			}
		}
		b.Item = new(store.ChargeItem)
		if err := tx.NewSelect().Model(b.Item).Where("id = ?", b.ItemID).Scan(ctx); err != nil {
			return fmt.Errorf("billing: bill item: %w", err)
		}
		amount, err := lineAmount(b, 0, now)
		if err != nil {
			return err
		}
		order = &store.Order{
			PayerName: b.PayerName, PayerPhone: b.PayerPhone, Channel: channelName, MerchantID: b.Item.MerchantID, TotalFen: amount,
			Status: store.OrderOpen, ExpiresAt: now.Add(s.orderTimeout(ctx)), CreatedAt: now, UpdatedAt: now,
		}
		created = true
		return s.insertOrder(ctx, tx, order, []*store.OrderLine{{BillID: b.ID, AmountFen: amount}}, map[int64]int64{b.ID: b.Version})
	})
	if err != nil {
		return nil, false, err
	}
	return order, created, nil
}
