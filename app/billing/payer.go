package billing

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"campuspay/app/fault"
	"campuspay/app/money"
	"campuspay/app/roster"
	"campuspay/store"
)

// OutstandingBills returns a payer's bills that still want money, soonest deadline first.
func (s *Service) OutstandingBills(ctx context.Context, payerID int64) ([]*store.Bill, error) {
	var bills []*store.Bill
	// Only what the page shows: this is the busiest query of the first hour of term.
	err := s.DB.NewSelect().Model(&bills).
		Column("bill.id", "bill.item_id", "bill.amount_due_fen", "bill.amount_paid_fen", "bill.status",
			"bill.description", "bill.due_date", "bill.held_until").
		Relation("Item", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Column("name", "partial_allowed", "department_id", "merchant_id")
		}).
		Relation("Item.Department", func(q *bun.SelectQuery) *bun.SelectQuery { return q.Column("name") }).
		Where("bill.payer_id = ?", payerID).
		Where("bill.status IN (?)", bun.In([]store.BillStatus{store.BillUnpaid, store.BillPartial})).
		OrderExpr("bill.due_date IS NULL, bill.due_date, bill.id").
		Limit(200).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("billing: outstanding bills: %w", err)
	}
	return bills, nil
}

// PayerOrders returns a payer's paid orders, newest first.
func (s *Service) PayerOrders(ctx context.Context, payerID int64, limit int) ([]*store.Order, error) {
	var orders []*store.Order
	err := s.DB.NewSelect().Model(&orders).
		Where("payer_id = ?", payerID).Where("status = ?", store.OrderPaid).
		OrderExpr("paid_at DESC, id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("billing: payer orders: %w", err)
	}
	return orders, nil
}

// SelectionTotal adds up what paying the given bills of a payer would cost now, for the
// cashier's running total. Bills that are not the payer's or not payable are left out.
func (s *Service) SelectionTotal(ctx context.Context, payerID int64, billIDs []int64) (count int, totalFen int64, err error) {
	if len(billIDs) == 0 {
		return 0, 0, nil
	}
	if len(billIDs) > MaxOrderLines {
		billIDs = billIDs[:MaxOrderLines]
	}
	var bills []*store.Bill
	if err := s.DB.NewSelect().Model(&bills).Column("id", "amount_due_fen", "amount_paid_fen", "status").
		Where("payer_id = ?", payerID).Where("id IN (?)", bun.In(billIDs)).
		Where("status IN (?)", bun.In([]store.BillStatus{store.BillUnpaid, store.BillPartial})).Scan(ctx); err != nil {
		return 0, 0, fmt.Errorf("billing: selection total: %w", err)
	}
	for _, b := range bills {
		totalFen += b.OutstandingFen()
	}
	return len(bills), totalFen, nil
}

// OpenItem returns an item that off-campus payers may pay without an account, by code.
func (s *Service) OpenItem(ctx context.Context, code string) (*store.ChargeItem, error) {
	item := new(store.ChargeItem)
	if !validNumber(strings.ReplaceAll(code, "-", "")) {
		return nil, fault.New(fault.ErrNotFound, "not_found", "收费项目不存在")
	}
	if err := s.DB.NewSelect().Model(item).Relation("Department").Where("charge_item.code = ?", code).Scan(ctx); err != nil {
		return nil, fault.NotFound(err, "收费项目不存在")
	}
	if item.Audience == store.AudienceInternal || item.Pricing == store.PricingPerBill {
		return nil, fault.New(fault.ErrNotFound, "not_found", "该收费项目不对校外开放")
	}
	return item, nil
}

// GuestRequest is an off-campus payer's order on an open item.
type GuestRequest struct {
	ItemCode  string
	Name      string
	Phone     string
	AmountFen int64 // for a payer-entered item; ignored for a fixed-price one
	Channel   string
}

// CreateGuestOrder makes, in one transaction, the bill of an off-campus payer on an open
// item and the order paying it.
func (s *Service) CreateGuestOrder(ctx context.Context, req GuestRequest) (*store.Order, error) {
	item, err := s.OpenItem(ctx, req.ItemCode)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if why := Payable(item, now); why != "" {
		return nil, fault.New(fault.ErrConflict, "item_not_payable", "%s", why)
	}
	gw, err := s.gatewayForNew(ctx, req.Channel, item.MerchantID)
	if err != nil {
		return nil, err
	}
	if !gw.Caps.Guests {
		return nil, fault.New(fault.ErrInvalid, "channel_invalid", "校外缴费不支持%s", gw.Caps.Label)
	}
	req.Name, req.Phone = strings.TrimSpace(req.Name), strings.TrimSpace(req.Phone)
	if n := utf8.RuneCountInString(req.Name); n < 2 || n > 50 {
		return nil, fault.New(fault.ErrInvalid, "name_invalid", "请填写 2 到 50 个字的姓名或单位名称")
	}
	if !roster.ValidPhone(req.Phone) {
		return nil, fault.New(fault.ErrInvalid, "phone_invalid", "请填写 11 位手机号码")
	}
	amount := item.PriceFen
	if item.Pricing == store.PricingPayerEntered {
		amount = req.AmountFen
		if amount < item.MinFen || (item.MaxFen > 0 && amount > item.MaxFen) || amount <= 0 || amount > MaxAmountFen {
			return nil, fault.New(fault.ErrInvalid, "amount_invalid", "金额须在 %s 到 %s 之间", money.Format(max(item.MinFen, 1)), money.Format(maxOr(item.MaxFen, MaxAmountFen)))
		}
	}
	order := &store.Order{
		PayerName: req.Name, PayerPhone: req.Phone, Channel: req.Channel, MerchantID: item.MerchantID, TotalFen: amount,
		Status: store.OrderOpen, ExpiresAt: now.Add(s.orderTimeout(ctx)), CreatedAt: now, UpdatedAt: now,
	}
	err = store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		bill := &store.Bill{
			BillNo: newNumber("G", now), Source: "cashier", ItemID: item.ID, PayerType: "external",
			PayerName: req.Name, PayerPhone: req.Phone, AmountDueFen: amount, Status: store.BillUnpaid,
			CreatedAt: now, UpdatedAt: now,
		}
		if _, err := tx.NewInsert().Model(bill).Exec(ctx); err != nil {
			return fmt.Errorf("billing: guest bill: %w", err)
		}
		return s.insertOrder(ctx, tx, order, []*store.OrderLine{{BillID: bill.ID, AmountFen: amount}}, nil)
	})
	if err != nil {
		return nil, err
	}
	return order, nil
}

func maxOr(v, fallback int64) int64 {
	if v > 0 {
		return v
	}
	return fallback
}

// LookupOrder finds an order by its number and the phone number given when paying: how an
// off-campus payer without an account finds their payment again.
func (s *Service) LookupOrder(ctx context.Context, orderNo, phone string) (*store.Order, error) {
	order, err := s.Order(ctx, strings.TrimSpace(orderNo))
	if err != nil || order.PayerPhone == "" || order.PayerPhone != strings.TrimSpace(phone) {
		return nil, fault.New(fault.ErrNotFound, "not_found", "没有找到该订单：请核对订单号和手机号")
	}
	return order, nil
}
