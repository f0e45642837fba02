package billing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/channel"
	"campuspay/app/fault"
	"campuspay/app/money"
	"campuspay/store"
)

// MaxOrderLines is how many bills one order may pay at once.
const MaxOrderLines = 20

// MaxAmountFen is the largest amount any bill, line or order may carry: ¥100,000,000.00.
const MaxAmountFen = 100_000_000_00

// LineRequest is one bill a payer ticked, with the amount to pay now. AmountFen 0 means
// "all that is outstanding"; another amount is accepted only where the item allows
// partial payment.
type LineRequest struct {
	BillID    int64
	AmountFen int64
}

// OrderRequest asks for an order paying some of one payer's bills.
type OrderRequest struct {
	PayerID int64
	Lines   []LineRequest
	Channel string
}

// CreateOrder makes an open order for a payer's bills and holds the bills so that no
// other order can take them until this one is paid or expires. It does not contact the
// channel: StartPayment does.
func (s *Service) CreateOrder(ctx context.Context, req OrderRequest) (*store.Order, error) {
	order, _, err := s.createOrder(ctx, req, "")
	return order, err
}

// CreateOrderToPay is CreateOrder for a payer who pays at once by way: the order's first
// payment attempt is recorded in the order's own transaction, where its bills were just
// checked due and held, and is returned for PayOrder (PayArgs.Attempt), which then opens
// no transaction of its own to make one. A channel that takes the money at once (the campus
// card, which needs the payer's password) gets no attempt here: each of its payments makes
// its own, so the attempt is nil.
func (s *Service) CreateOrderToPay(ctx context.Context, req OrderRequest, way channel.Way) (*store.Order, *store.PaymentAttempt, error) {
	if way == "" {
		return nil, nil, fault.New(fault.ErrInvalid, "way_invalid", "请选择支付方式")
	}
	return s.createOrder(ctx, req, way)
}

func (s *Service) createOrder(ctx context.Context, req OrderRequest, way channel.Way) (*store.Order, *store.PaymentAttempt, error) {
	if len(req.Lines) == 0 {
		return nil, nil, fault.New(fault.ErrInvalid, "no_bills", "请至少选择一笔待缴款项")
	}
	if len(req.Lines) > MaxOrderLines {
		return nil, nil, fault.New(fault.ErrInvalid, "too_many_bills", "一次最多支付 %d 笔款项", MaxOrderLines)
	}
	ids := make([]int64, 0, len(req.Lines))
	for _, l := range req.Lines {
		if slices.Contains(ids, l.BillID) {
			return nil, nil, fault.New(fault.ErrInvalid, "duplicate_bill", "同一笔款项选择了两次")
		}
		if l.AmountFen < 0 || l.AmountFen > MaxAmountFen {
			return nil, nil, fault.New(fault.ErrInvalid, "amount_invalid", "金额无效")
		}
		ids = append(ids, l.BillID)
	}
	// One order collects into one merchant: the bills' items must name the same one, and
	// the channel must take payments for it.
	itemByID, merchantID, err := s.itemsOf(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	gw, err := s.gatewayForNew(ctx, req.Channel, merchantID)
	if err != nil {
		return nil, nil, err
	}
	if way != "" && !containsWay(gw.Caps.Ways, way) {
		return nil, nil, fault.New(fault.ErrInvalid, "way_invalid", "%s不支持这种支付方式", gw.Caps.Label)
	}
	if gw.Caps.NeedsPassword {
		way = ""
	}
	now := s.now()
	var payer store.User
	if err := s.DB.NewSelect().Model(&payer).Where("id = ?", req.PayerID).Scan(ctx); err != nil {
		return nil, nil, fault.NotFound(err, "缴费人不存在")
	}
	var attempt *store.PaymentAttempt
	order := &store.Order{
		PayerID: &payer.ID, PayerName: payer.Name, PayerPhone: payer.Phone,
		Channel: req.Channel, MerchantID: merchantID, Status: store.OrderOpen,
		ExpiresAt: now.Add(s.orderTimeout(ctx)), CreatedAt: now, UpdatedAt: now,
	}
	err = store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		// Lock the bills (on MySQL; an SQLite transaction holds the write lock already) in id
		// order, as every payment locks them, so that nothing credits them between this read
		// and the hold. The hold is guarded by the versions read too (insertOrder): an order
		// is never priced from amounts that are no longer the bill's.
		locked := slices.Clone(ids)
		slices.Sort(locked)
		var bills []*store.Bill
		if err := store.ForUpdate(tx.NewSelect().Model(&bills).Where("id IN (?)", bun.In(locked)).OrderExpr("id")).Scan(ctx); err != nil {
			return fmt.Errorf("billing: load bills: %w", err)
		}
		byID := make(map[int64]*store.Bill, len(bills))
		versions := make(map[int64]int64, len(bills))
		itemIDs := make([]int64, 0, len(bills))
		moved := false // a bill's item is not one read above: it was moved to another meanwhile
		for _, b := range bills {
			byID[b.ID] = b
			versions[b.ID] = b.Version
			itemIDs = append(itemIDs, b.ItemID)
			moved = moved || itemByID[b.ItemID] == nil
		}
		if moved {
			var items []*store.ChargeItem
			if err := tx.NewSelect().Model(&items).Where("id IN (?)", bun.In(itemIDs)).Scan(ctx); err != nil {
				return fmt.Errorf("billing: load items: %w", err)
			}
			for _, it := range items {
				itemByID[it.ID] = it
			}
		}
		for _, b := range bills {
			b.Item = itemByID[b.ItemID]
			if b.Item != nil && b.Item.MerchantID != merchantID {
				return fault.New(fault.ErrConflict, "merchant_changed", "所选款项的收款商户刚刚变更，请刷新页面后重新选择")
			}
		}
		if s.afterBillsRead != nil {
			s.afterBillsRead(ctx, tx)
		}
		lines := make([]*store.OrderLine, 0, len(req.Lines))
		order.TotalFen = 0
		for _, l := range req.Lines {
			b, ok := byID[l.BillID]
			if !ok || b.PayerID == nil || *b.PayerID != payer.ID {
				return fault.New(fault.ErrForbidden, "bill_not_yours", "所选款项不存在或不属于您")
			}
			amount, err := lineAmount(b, l.AmountFen, now)
			if err != nil {
				return err
			}
			order.TotalFen += amount
			lines = append(lines, &store.OrderLine{BillID: b.ID, AmountFen: amount})
		}
		if order.TotalFen > MaxAmountFen {
			return fault.New(fault.ErrInvalid, "amount_invalid", "单笔订单金额不能超过 %s", money.Format(MaxAmountFen))
		}
		if err := s.insertOrder(ctx, tx, order, lines, versions); err != nil {
			return err
		}
		if way != "" {
			// The first attempt is numbered as the order (attemptFor numbers the later ones).
			attempt = &store.PaymentAttempt{AttemptNo: order.OrderNo, OrderID: order.ID, Seq: 1, Channel: req.Channel,
				MerchantID: merchantID, Way: string(way), AmountFen: order.TotalFen, Status: store.AttemptOpen,
				CreatedAt: now, UpdatedAt: now}
			if _, err := tx.NewInsert().Model(attempt).Exec(ctx); err != nil {
				return fmt.Errorf("billing: insert attempt: %w", err)
			}
		}
		// The lines carry their bills and items as Order would read them back, held now:
		// paying the order at once (PayOrder) reads none of it again.
		for _, l := range lines {
			b := byID[l.BillID]
			id, until := order.ID, order.ExpiresAt
			b.HeldByOrderID, b.HeldUntil = &id, &until
			b.Version++
			b.UpdatedAt = order.CreatedAt
			l.Bill = b
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return order, attempt, nil
}

// MerchantOf is the merchant the bills collect into (their items'): one, or a clear error
// when they span several — the cashier then helps the payer pay each group on its own.
func (s *Service) MerchantOf(ctx context.Context, billIDs []int64) (int64, error) {
	_, merchant, err := s.itemsOf(ctx, billIDs)
	return merchant, err
}

// itemsOf reads the items of the bills (one statement) and the merchant they collect into:
// one, or the error that they span several. CreateOrder prices its lines
// from these items; they are read, not locked, as they were inside its transaction.
func (s *Service) itemsOf(ctx context.Context, billIDs []int64) (map[int64]*store.ChargeItem, int64, error) {
	var items []*store.ChargeItem
	if err := s.DB.NewSelect().Model(&items).
		Where("id IN (SELECT item_id FROM bills WHERE id IN (?))", bun.In(billIDs)).Scan(ctx); err != nil {
		return nil, 0, fmt.Errorf("billing: items of bills: %w", err)
	}
	byID := make(map[int64]*store.ChargeItem, len(items))
	var merchants []int64
	for _, it := range items {
		byID[it.ID] = it
		if !slices.Contains(merchants, it.MerchantID) {
			merchants = append(merchants, it.MerchantID)
		}
	}
	switch len(merchants) {
	case 0:
		return byID, store.DefaultMerchantID, nil // no such bills: the order is refused later
	case 1:
		return byID, merchants[0], nil
	}
	return nil, 0, fault.New(fault.ErrInvalid, "mixed_merchants", "所选款项分属 %d 个收款单位，须分开支付：请按收款单位分别勾选后支付", len(merchants))
}

// lineAmount checks that bill b can be paid now and returns the amount to pay on it.
func lineAmount(b *store.Bill, asked int64, now time.Time) (int64, error) {
	if why := Payable(b.Item, now); why != "" {
		return 0, fault.New(fault.ErrConflict, "item_not_payable", "%s", why)
	}
	if b.Status != store.BillUnpaid && b.Status != store.BillPartial {
		return 0, fault.New(fault.ErrConflict, "bill_not_payable", "款项「%s」%s，无需支付", b.Item.Name, BillStatusLabel(b.Status))
	}
	due := b.OutstandingFen()
	switch {
	case asked == 0 || asked == due:
		return due, nil
	case !b.Item.PartialAllowed:
		return 0, fault.New(fault.ErrInvalid, "amount_invalid", "款项「%s」须一次缴清 %s", b.Item.Name, money.Format(due))
	case asked > due:
		return 0, fault.New(fault.ErrInvalid, "amount_invalid", "款项「%s」本次最多缴 %s", b.Item.Name, money.Format(due))
	}
	return asked, nil
}

// insertOrder writes an order with its lines and holds its bills, inside tx. versions, when
// set, are the bills' versions the lines were priced from: a bill changed since (credited by
// an offline import or a late payment, say) is not held and the order is refused, never
// priced from what is no longer due.
func (s *Service) insertOrder(ctx context.Context, tx bun.Tx, order *store.Order, lines []*store.OrderLine, versions map[int64]int64) error {
	order.ID = 0 // a transaction run again starts afresh
	for attempt := 0; ; attempt++ {
		order.OrderNo = newNumber("P", order.CreatedAt)
		_, err := tx.NewInsert().Model(order).Exec(ctx)
		if err == nil {
			break
		}
		if !store.IsDuplicate(err) || attempt == 3 {
			return fmt.Errorf("billing: insert order: %w", err)
		}
	}
	for _, l := range lines {
		l.OrderID = order.ID
	}
	if _, err := tx.NewInsert().Model(&lines).Exec(ctx); err != nil {
		return fmt.Errorf("billing: insert order lines: %w", err)
	}
	order.Lines = lines
	billIDs := make([]int64, len(lines))
	for i, l := range lines {
		billIDs[i] = l.BillID
	}
	// The hold: a bill joins this order only if no live order holds it (a hold whose order
	// has expired is void even before the expiry job closes that order). All of them or
	// none: one held elsewhere rolls the whole order back.
	q := tx.NewUpdate().Model((*store.Bill)(nil)).
		Set("held_by_order_id = ?", order.ID).
		Set("held_until = ?", order.ExpiresAt).
		Set("version = version + 1").
		Set("updated_at = ?", order.CreatedAt).
		Where("id IN (?)", bun.In(billIDs)).
		Where("status IN (?)", bun.In([]store.BillStatus{store.BillUnpaid, store.BillPartial})).
		Where("(held_by_order_id IS NULL OR held_until <= ?)", order.CreatedAt)
	if versions != nil {
		q = q.WhereGroup(" AND ", func(q *bun.UpdateQuery) *bun.UpdateQuery {
			for _, id := range billIDs {
				q = q.WhereOr("(id = ? AND version = ?)", id, versions[id])
			}
			return q
		})
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return fmt.Errorf("billing: hold bills: %w", err)
	}
	if n, _ := res.RowsAffected(); n != int64(len(billIDs)) {
		return holdRefused(ctx, tx, billIDs, order)
	}
	return nil
}

// holdRefused says why a hold did not take every bill: one was paid (or refunded or
// cancelled) a moment ago, one is held by another live order, or one changed since it was
// read: the order would be priced from amounts no longer due, so it is refused and the payer
// orders again from the bill as it is now.
func holdRefused(ctx context.Context, tx bun.Tx, billIDs []int64, order *store.Order) error {
	var bills []*store.Bill
	if err := tx.NewSelect().Model(&bills).Where("id IN (?)", bun.In(billIDs)).Scan(ctx); err != nil {
		return fmt.Errorf("billing: bills not held: %w", err)
	}
	for _, b := range bills {
		switch b.Status {
		case store.BillPaid:
			return fault.New(fault.ErrConflict, "bill_just_paid", "该款项刚刚已缴清，无需再次支付，请刷新页面查看")
		case store.BillRefunded, store.BillCancelled:
			return fault.New(fault.ErrConflict, "bill_not_payable", "该款项刚刚%s，不能支付，请刷新页面查看", BillStatusLabel(b.Status))
		}
	}
	for _, b := range bills {
		if b.HeldByOrderID != nil && *b.HeldByOrderID != order.ID && b.HeldUntil != nil && b.HeldUntil.After(order.CreatedAt) {
			return fault.New(fault.ErrConflict, "bill_in_order", "有款项正在另一笔订单中支付，请完成或等待该订单关闭后再试")
		}
	}
	return fault.New(fault.ErrConflict, "bill_changed", "所选款项的应缴金额刚刚发生变化，请刷新页面后重新下单")
}

func (s *Service) orderTimeout(ctx context.Context) time.Duration {
	if s.Settings == nil {
		return 15 * time.Minute
	}
	return time.Duration(s.Settings.Int(ctx, "order.timeout_minutes")) * time.Minute
}

// StartPayment asks the order's channel to collect it, the channel's first way (see Pay).
// For a QR or hosted-page channel it returns what the payer opens; for the campus card,
// which takes the money at once, the paid order.
func (s *Service) StartPayment(ctx context.Context, orderNo, payerNo, password string) (*store.Order, channel.CreateResult, error) {
	order, _, res, err := s.Pay(ctx, orderNo, PayArgs{PayerNo: payerNo, Password: password})
	return order, channel.CreateResult{QRContent: res.QRContent, RedirectURL: res.RedirectURL, Paid: res.Paid}, err
}

// stillDue makes sure, inside tx and under the open order o's lock, that every bill of the
// order still owes what the order pays on it before the channel is asked to collect: a late
// payment of an earlier order may have settled a bill since this order was made, and a
// campus card debits at once. It locks the bills (in id order, as every payment does) and
// returns why one is no longer due ("" when all are). lines are the order's lines if the
// caller has them (an order's lines never change once written); nil: they are read.
func stillDue(ctx context.Context, tx bun.Tx, o *store.Order, lines []*store.OrderLine) (string, error) {
	if len(lines) == 0 || lines[0].OrderID != o.ID {
		lines = nil
		if err := tx.NewSelect().Model(&lines).Where("order_id = ?", o.ID).Scan(ctx); err != nil {
			return "", fmt.Errorf("billing: order lines: %w", err)
		}
	}
	ids := make([]int64, len(lines))
	for i, l := range lines {
		ids[i] = l.BillID
	}
	var bills []*store.Bill
	if err := store.ForUpdate(tx.NewSelect().Model(&bills).Where("id IN (?)", bun.In(ids)).OrderExpr("id")).Scan(ctx); err != nil {
		return "", fmt.Errorf("billing: order bills: %w", err)
	}
	due := make(map[int64]*store.Bill, len(bills))
	for _, b := range bills {
		due[b.ID] = b
	}
	for _, l := range lines {
		b := due[l.BillID]
		switch {
		case b == nil:
			return "款项不存在", nil
		case b.Status == store.BillPaid:
			return "该款项刚刚已缴清", nil
		case b.Status != store.BillUnpaid && b.Status != store.BillPartial:
			return "该款项刚刚" + BillStatusLabel(b.Status), nil
		case b.OutstandingFen() < l.AmountFen:
			return "该款项刚刚已部分缴纳，应缴金额已变化", nil
		}
	}
	return "", nil
}

// closeStale closes an open order one of whose bills is no longer due (stillDue says why),
// releasing its bills, and tells the payer: nothing was charged.
func (s *Service) closeStale(ctx context.Context, order *store.Order, stale string) error {
	s.log().Info("order no longer due, closed before payment", "order", order.OrderNo, "why", stale)
	if _, err := s.CloseOrder(ctx, order.OrderNo, "system"); err != nil {
		return err
	}
	return fault.New(fault.ErrConflict, "bill_just_paid", "%s，本订单已关闭，未扣款。请刷新页面查看", stale)
}

// subject is what the payer sees at the channel: the first line's item name, and how many
// lines there are. The names come from the order's lines when the caller has their bills'
// items (Order, CreateOrder read them); otherwise they are read.
func (s *Service) subject(ctx context.Context, order *store.Order) string {
	names := make([]string, 0, len(order.Lines))
	for _, l := range order.Lines {
		if l.OrderID != order.ID || l.Bill == nil || l.Bill.Item == nil {
			names = nil
			break
		}
		names = append(names, l.Bill.Item.Name)
	}
	if len(names) > 0 {
		return subjectOf(order, names)
	}
	err := s.DB.NewSelect().Table("order_lines").ColumnExpr("ci.name").
		Join("JOIN bills AS b ON b.id = order_lines.bill_id").
		Join("JOIN charge_items AS ci ON ci.id = b.item_id").
		Where("order_lines.order_id = ?", order.ID).OrderExpr("order_lines.id").Scan(ctx, &names)
	if err != nil {
		names = nil
	}
	return subjectOf(order, names)
}

func subjectOf(order *store.Order, names []string) string {
	if len(names) == 0 {
		return "缴费订单 " + order.OrderNo
	}
	if len(names) == 1 {
		return names[0]
	}
	return fmt.Sprintf("%s等%d项", names[0], len(names))
}

// Order returns an order with its lines and their bills and items.
func (s *Service) Order(ctx context.Context, orderNo string) (*store.Order, error) {
	if !validNumber(orderNo) {
		return nil, fault.New(fault.ErrNotFound, "not_found", "订单不存在")
	}
	order := new(store.Order)
	err := s.DB.NewSelect().Model(order).
		Relation("Lines", func(q *bun.SelectQuery) *bun.SelectQuery { return q.OrderExpr("order_line.id") }).
		Relation("Lines.Bill").Relation("Lines.Bill.Item").Relation("Lines.Bill.Item.Department").
		Where("order_no = ?", orderNo).Scan(ctx)
	if err != nil {
		return nil, fault.NotFound(err, "订单不存在")
	}
	return order, nil
}

var numberRE = regexp.MustCompile(`^[0-9A-Za-z]{1,32}$`)

func validNumber(s string) bool { return numberRE.MatchString(s) }

// SyncOrder asks the channels about an order's open attempts and applies a payment a
// channel has but the platform has not heard of. It is what runs when a payer returns from
// a channel, while the cashier polls, and in the job that watches open orders. A channel
// that cannot be reached is reported (wrapping channel.ErrUnavailable) after the others
// were asked.
func (s *Service) SyncOrder(ctx context.Context, orderNo string) (*store.Order, error) {
	order, err := s.Order(ctx, orderNo)
	if err != nil || order.Status == store.OrderPaid {
		return order, err
	}
	now := s.now()
	s.DB.NewUpdate().Model((*store.Order)(nil)).Set("last_queried_at = ?", now).Where("id = ?", order.ID).Exec(ctx)
	refs, err := s.openRefs(ctx, order)
	if err != nil {
		return order, err
	}
	var firstErr error
	paid := false
	for _, r := range refs {
		gw, err := s.gateway(ctx, r.channel, r.merchantID)
		if err != nil {
			firstErr = cmp.Or(firstErr, fmt.Errorf("billing: %s: %v: %w", r.channel, err, channel.ErrUnavailable))
			continue
		}
		trade, err := gw.Provider.Query(ctx, r.ref)
		if err != nil {
			firstErr = cmp.Or(firstErr, fmt.Errorf("billing: query %s: %w", r.ref.AttemptNo, err))
			continue
		}
		if trade.Status != channel.TradeSuccess {
			continue
		}
		if trade.OrderNo == "" {
			trade.OrderNo = r.ref.AttemptNo
		}
		// A query's answer is checked like a notification: the app and merchant it names
		// must be this account's.
		if err := identity(gw.Provider, channel.Notice{Kind: channel.NoticePaid, Trade: trade}, false); err != nil {
			s.log().Error("query answer names another merchant", "attempt", r.ref.AttemptNo, "err", err)
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		if _, err := s.ApplyTrade(ctx, r.channel, trade); err != nil {
			return order, err
		}
		paid = true
	}
	if paid {
		order, err = s.Order(ctx, orderNo)
		if err != nil {
			return order, err
		}
	}
	if order.Status == store.OrderPaid {
		return order, nil
	}
	return order, firstErr
}

// CloseOrder closes an open order and releases its bills. It tells the channel first, so
// that the payer can no longer pay it there; if the channel reports the order paid, the
// payment is applied instead.
func (s *Service) CloseOrder(ctx context.Context, orderNo, actor string) (*store.Order, error) {
	return s.closeOrder(ctx, orderNo, actor, "order.closed", false)
}

// closeOrder is the one way an open order is closed: ask the channel (a payment it has is
// applied instead), tell the channel to take no more payment, then close the order and
// release its bills in one transaction. When strict, a channel that does not confirm the
// close stops it there and nothing changes: a payer who cancels must not leave a trade
// that can still be paid while the bills go to another order. Otherwise (expiry, a bill
// settled elsewhere) the order is closed anyway and a payment that still arrives is late.
func (s *Service) closeOrder(ctx context.Context, orderNo, actor, action string, strict bool) (*store.Order, error) {
	order, err := s.SyncOrder(ctx, orderNo)
	if err != nil && !errors.Is(err, channel.ErrUnavailable) {
		return order, err
	}
	if order == nil || order.Status != store.OrderOpen {
		return order, nil
	}
	refs, err := s.openRefs(ctx, order)
	if err == nil {
		for _, r := range refs {
			gw, gerr := s.gateway(ctx, r.channel, r.merchantID)
			if gerr == nil {
				gerr = gw.Provider.Close(ctx, r.ref)
			}
			err = cmp.Or(err, gerr)
		}
	}
	if err != nil {
		if strict {
			s.log().Warn("channel close failed, order left open", "order", order.OrderNo, "err", err)
			// The close may have failed because the trade was paid a moment ago.
			if o, serr := s.SyncOrder(ctx, orderNo); serr == nil && o.Status != store.OrderOpen {
				return o, nil
			}
			return order, fault.New(fault.ErrConflict, "channel_close_failed", "支付渠道暂时无法关闭该订单，订单未取消。请稍后再试；如已完成支付，请等待支付结果")
		}
		// Closing locally anyway is safe: a payment that still arrives is recorded as late.
		s.log().Warn("channel close failed", "order", order.OrderNo, "err", err)
	}
	now := s.now()
	err = store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*store.Order)(nil)).
			Set("status = ?", store.OrderClosed).Set("closed_at = ?", now).Set("updated_at = ?", now).
			Where("id = ?", order.ID).Where("status = ?", store.OrderOpen).Exec(ctx)
		if err != nil {
			return fmt.Errorf("billing: close order: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil // paid or closed meanwhile
		}
		if _, err := tx.NewUpdate().Model((*store.PaymentAttempt)(nil)).
			Set("status = ?", store.AttemptClosed).Set("closed_at = ?", now).Set("updated_at = ?", now).
			Where("order_id = ?", order.ID).Where("status = ?", store.AttemptOpen).Exec(ctx); err != nil {
			return fmt.Errorf("billing: close attempts: %w", err)
		}
		if _, err := tx.NewUpdate().Model((*store.Bill)(nil)).
			Set("held_by_order_id = NULL").Set("held_until = NULL").Set("version = version + 1").Set("updated_at = ?", now).
			Where("held_by_order_id = ?", order.ID).Exec(ctx); err != nil {
			return fmt.Errorf("billing: release bills: %w", err)
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: actor, Action: action, TargetType: "order", TargetID: order.OrderNo})
	})
	if err != nil {
		return order, err
	}
	return s.Order(ctx, orderNo)
}

// ExpireOrders closes every open order past its expiry (after asking its channel), and
// returns how many it closed.
func (s *Service) ExpireOrders(ctx context.Context) (int, error) {
	var nos []string
	if err := s.DB.NewSelect().Model((*store.Order)(nil)).Column("order_no").
		Where("status = ?", store.OrderOpen).Where("expires_at <= ?", s.now()).
		OrderExpr("expires_at").Limit(500).Scan(ctx, &nos); err != nil {
		return 0, fmt.Errorf("billing: expired orders: %w", err)
	}
	closed := 0
	for _, no := range nos {
		o, err := s.CloseOrder(ctx, no, "system")
		if err != nil {
			s.log().Warn("expire order", "order", no, "err", err)
			continue
		}
		if o.Status == store.OrderClosed {
			closed++
		}
	}
	return closed, nil
}

// SyncOpenOrders queries the channel for open orders that have waited a while without
// news (created over a minute ago, not queried in the last minute).
func (s *Service) SyncOpenOrders(ctx context.Context) (int, error) {
	now := s.now()
	var nos []string
	if err := s.DB.NewSelect().Model((*store.Order)(nil)).Column("order_no").
		Where("status = ?", store.OrderOpen).Where("created_at <= ?", now.Add(-time.Minute)).
		Where("(last_queried_at IS NULL OR last_queried_at <= ?)", now.Add(-time.Minute)).
		OrderExpr("created_at").Limit(500).Scan(ctx, &nos); err != nil {
		return 0, fmt.Errorf("billing: open orders: %w", err)
	}
	paid := 0
	for _, no := range nos {
		o, err := s.SyncOrder(ctx, no)
		if err != nil {
			s.log().Warn("sync order", "order", no, "err", err)
			continue
		}
		if o.Status == store.OrderPaid {
			paid++
		}
	}
	return paid, nil
}
