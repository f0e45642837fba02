package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/channel"
	"campuspay/app/fault"
	"campuspay/store"
)

// Outcome tells what applying a trade did.
type Outcome struct {
	Duplicate   bool  // this trade was applied before: nothing changed
	Late        bool  // the order had been closed when the money came
	CreditedFen int64 // what went to bills
	OverpaidFen int64 // what no bill could take, flagged for refund
	// Receipts is how many receipts the payment wrote. They are written unnumbered and
	// numbered moments after the commit (numbering.go): whoever shows their numbers reads
	// them through OrderReceipts, which waits for them.
	Receipts       int
	OrderNo        string
	PaymentTradeNo string
}

// ApplyTrade records that a channel collected an order and credits its bills: the payment
// row, the order's move to paid, each bill's new amounts and status, the receipts, the
// callbacks to business systems, and the audit entry, all in one transaction. It is
// idempotent on (channel, trade number): a copy of a trade already applied — however many,
// however concurrent — changes nothing and reports Duplicate.
//
// The caller has verified the channel's signature. ApplyTrade checks the rest: the order
// exists, belongs to that channel, and the amount equals the order's total.
func (s *Service) ApplyTrade(ctx context.Context, channelName string, t channel.Trade) (Outcome, error) {
	return s.applyTrade(ctx, channelName, t, nil, 0)
}

// applyTrade is ApplyTrade; rec, when set, is the notification that brought the trade: it
// is written in the same transaction when the trade applies (one commit, not two).
//
// merchantID, when not 0, is the merchant whose door the notification came through: the
// attempt must be that merchant's.
func (s *Service) applyTrade(ctx context.Context, channelName string, t channel.Trade, rec *store.Notification, merchantID int64) (Outcome, error) {
	var paidOrderID int64
	out := Outcome{OrderNo: t.OrderNo, PaymentTradeNo: t.TradeNo}
	if t.Status != channel.TradeSuccess {
		return out, fault.New(fault.ErrInvalid, "trade_not_paid", "渠道报告的交易未成功：%s", t.Status)
	}
	if t.TradeNo == "" || len(t.TradeNo) > 64 {
		return out, fault.New(fault.ErrInvalid, "trade_no_invalid", "渠道交易号无效")
	}
	now := s.now()
	paidAt := store.UTC(t.PaidAt)
	if t.PaidAt.IsZero() {
		paidAt = now
	}
	err := store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		out = Outcome{OrderNo: t.OrderNo, PaymentTradeNo: t.TradeNo}
		order, attempt, err := s.tradeOrder(ctx, tx, channelName, t, merchantID)
		if err != nil {
			return err
		}
		out.OrderNo = order.OrderNo
		payment := &store.Payment{
			OrderID: order.ID, AttemptNo: attempt.AttemptNo, Channel: channelName, TradeNo: t.TradeNo, AmountFen: t.AmountFen,
			Late: order.Status != store.OrderOpen, PaidAt: paidAt, Raw: t.Raw, CreatedAt: now,
		}
		if _, err := tx.NewInsert().Model(payment).Exec(ctx); err != nil {
			if store.IsDuplicate(err) {
				out.Duplicate = true
				return errDuplicate
			}
			return fmt.Errorf("billing: insert payment: %w", err)
		}
		out.Late = payment.Late
		var creditedBills []*store.Bill
		var receipts []receiptCredit
		if order.Status == store.OrderPaid {
			// The same order paid a second time under another trade number: all of it is
			// money no bill is owed.
			out.OverpaidFen = payment.AmountFen
			if err := addOverpayment(ctx, tx, payment, nil, payment.AmountFen); err != nil {
				return err
			}
		} else {
			if !CanMoveOrder(order.Status, store.OrderPaid) {
				return fault.New(fault.ErrConflict, "order_state", "订单状态 %s 不能变为已支付", order.Status)
			}
			res, err := tx.NewUpdate().Model((*store.Order)(nil)).
				Set("status = ?", store.OrderPaid).Set("paid_at = ?", paidAt).Set("updated_at = ?", now).
				Where("id = ?", order.ID).Where("status = ?", order.Status).Exec(ctx)
			if err != nil {
				return fmt.Errorf("billing: mark order paid: %w", err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return fmt.Errorf("billing: order %s changed under us", order.OrderNo)
			}
			var lines []*store.OrderLine
			if err := tx.NewSelect().Model(&lines).Where("order_id = ?", order.ID).OrderExpr("bill_id").Scan(ctx); err != nil {
				return fmt.Errorf("billing: load lines: %w", err)
			}
			// Lock every bill of the order in one statement, in id order (the order every
			// payment locks them in, so two payments sharing a bill cannot deadlock).
			billIDs := make([]int64, len(lines))
			for i, l := range lines {
				billIDs[i] = l.BillID
			}
			var locked []*store.Bill
			if err := store.ForUpdate(tx.NewSelect().Model(&locked).Where("id IN (?)", bun.In(billIDs)).OrderExpr("id")).Scan(ctx); err != nil {
				return fmt.Errorf("billing: lock bills: %w", err)
			}
			bills := make(map[int64]*store.Bill, len(locked))
			for _, b := range locked {
				bills[b.ID] = b
			}
			for _, l := range lines {
				credited, err := s.creditBill(ctx, tx, order, payment, l, bills[l.BillID])
				if err != nil {
					return err
				}
				out.CreditedFen += credited
				if credited > 0 {
					creditedBills = append(creditedBills, bills[l.BillID])
				}
				if credited < l.AmountFen {
					out.OverpaidFen += l.AmountFen - credited
					billID := l.BillID
					if err := addOverpayment(ctx, tx, payment, &billID, l.AmountFen-credited); err != nil {
						return err
					}
				}
				if credited > 0 {
					receipts = append(receipts, receiptCredit{BillID: l.BillID, AmountFen: credited})
				}
			}
		}
		if attempt.ID != 0 {
			if _, err := tx.NewUpdate().Model((*store.PaymentAttempt)(nil)).
				Set("status = ?", store.AttemptPaid).Set("trade_no = ?", t.TradeNo).Set("paid_at = ?", paidAt).Set("updated_at = ?", now).
				Where("id = ?", attempt.ID).Exec(ctx); err != nil {
				return fmt.Errorf("billing: attempt paid: %w", err)
			}
		}
		paidOrderID = order.ID
		if _, err := tx.NewUpdate().Model(payment).Column("credited_fen").Set("credited_fen = ?", out.CreditedFen).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("billing: payment credited: %w", err)
		}
		// Tell the business systems whose bills this payment credited, now that the bill
		// rows and the payment show it.
		if len(creditedBills) > 0 {
			if err := queuePaidEvents(ctx, tx, creditedBills, payment.CreatedAt); err != nil {
				return err
			}
		}
		detail := fmt.Sprintf("trade=%s amount=%d credited=%d overpaid=%d late=%v", t.TradeNo, t.AmountFen, out.CreditedFen, out.OverpaidFen, out.Late)
		if err := store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: "channel:" + channelName, Action: "payment.applied", TargetType: "order", TargetID: order.OrderNo, Detail: detail}); err != nil {
			return err
		}
		if rec != nil {
			rec.Outcome = "applied"
			if _, err := tx.NewInsert().Model(rec).Exec(ctx); err != nil {
				return fmt.Errorf("billing: store notification: %w", err)
			}
		}
		// The receipts, unnumbered: the numberer numbers them after the commit, many
		// payments' at once, so no payment holds the year's sequence row.
		if len(receipts) > 0 {
			n, err := issueReceipts(ctx, tx, order, payment, receipts, now)
			if err != nil {
				return err
			}
			out.Receipts = n
		}
		return nil
	})
	observeTrade(ctx, channelName, t, rec, out, err)
	if errors.Is(err, errDuplicate) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	if out.Receipts > 0 {
		s.kickNumberer()
	}
	s.paymentApplied(out.OrderNo)
	if out.OverpaidFen > 0 {
		s.log().Warn("overpayment flagged for refund", "order", out.OrderNo, "trade", t.TradeNo, "fen", out.OverpaidFen)
	}
	if !out.Late && out.OverpaidFen < t.AmountFen {
		// The order is paid: its other attempts must take no more money.
		// Not on the caller's context: a company that hangs up on its notification must not
		// leave the other attempts open.
		s.closeOtherAttempts(context.WithoutCancel(ctx), paidOrderID, t.OrderNo)
	}
	return out, nil
}

// tradeOrder finds, locked, the order a verified trade pays and checks the trade against
// our own rows: the attempt (or, from before attempts, the order) it names was made on
// that channel, at that merchant when the door said which, for that amount.
func (s *Service) tradeOrder(ctx context.Context, tx bun.Tx, channelName string, t channel.Trade, merchantID int64) (*store.Order, *store.PaymentAttempt, error) {
	attempt := new(store.PaymentAttempt)
	err := tx.NewSelect().Model(attempt).Where("attempt_no = ?", t.OrderNo).Scan(ctx)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("billing: attempt: %w", err)
	}
	order := new(store.Order)
	q := tx.NewSelect().Model(order)
	if found {
		q = q.Where("id = ?", attempt.OrderID)
	} else {
		q = q.Where("order_no = ?", t.OrderNo)
	}
	if err := store.ForUpdate(q).Scan(ctx); err != nil {
		return nil, nil, fault.NotFound(err, "订单不存在")
	}
	want, amount, merchant := order.Channel, order.TotalFen, order.MerchantID
	if found {
		want, amount, merchant = attempt.Channel, attempt.AmountFen, attempt.MerchantID
	} else {
		attempt = &store.PaymentAttempt{}
	}
	if want != channelName {
		return nil, nil, fault.New(fault.ErrInvalid, "channel_mismatch", "订单 %s 不是通过 %s 支付的", t.OrderNo, channelName)
	}
	if merchantID != 0 && merchant != merchantID {
		return nil, nil, fault.New(fault.ErrInvalid, "merchant_mismatch", "订单 %s 不属于该收款商户", t.OrderNo)
	}
	if t.AmountFen != amount {
		return nil, nil, fault.New(fault.ErrInvalid, "amount_mismatch", "渠道金额 %d 分与订单金额 %d 分不符", t.AmountFen, amount)
	}
	return order, attempt, nil
}

// errDuplicate rolls back the transaction of a trade that was applied before.
var errDuplicate = errors.New("billing: trade already applied")

// creditBill adds a line's money to its (locked) bill, as far as the bill is still due,
// returns what it credited, and leaves bill as the row now is.
func (s *Service) creditBill(ctx context.Context, tx bun.Tx, order *store.Order, p *store.Payment, l *store.OrderLine, bill *store.Bill) (int64, error) {
	if bill == nil {
		return 0, fmt.Errorf("billing: bill %d of order %s is gone", l.BillID, order.OrderNo)
	}
	credit := min(l.AmountFen, bill.OutstandingFen())
	if bill.Status == store.BillRefunded {
		// A bill refunded down to "refunded" is closed for crediting. Its payer was given the
		// money back; an order for the rest that was open meanwhile (or a late payment) must
		// not turn it "paid" on the strength of money the refund already returned. What such
		// an order brings is an overpayment, flagged for finance to refund (decided in issue
		// 8: refusing the refund while an order holds the bill would still leave a late
		// payment of a closed order to credit it).
		credit = 0
	}
	after := *bill // the row as this update leaves it
	after.Version++
	after.UpdatedAt = p.CreatedAt
	q := tx.NewUpdate().Model((*store.Bill)(nil)).Set("version = version + 1").Set("updated_at = ?", p.CreatedAt)
	if bill.HeldByOrderID != nil && *bill.HeldByOrderID == order.ID {
		q = q.Set("held_by_order_id = NULL").Set("held_until = NULL")
		after.HeldByOrderID, after.HeldUntil = nil, nil
	}
	if credit > 0 {
		after.AmountPaidFen += credit
		after.Status = BillStatusOf(after.AmountDueFen, after.AmountPaidFen, after.AmountRefundedFen, false)
		q = q.Set("amount_paid_fen = ?", after.AmountPaidFen).Set("status = ?", after.Status)
		if after.Status == store.BillPaid {
			paidAt := p.PaidAt
			after.PaidAt = &paidAt
			q = q.Set("paid_at = ?", p.PaidAt)
		}
	}
	res, err := q.Where("id = ?", bill.ID).Where("version = ?", bill.Version).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("billing: credit bill %d: %w", bill.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return 0, fmt.Errorf("billing: bill %d changed under us", bill.ID)
	}
	*bill = after // the caller's copy stays true for what it does next (events, another line)
	return credit, nil
}

func addOverpayment(ctx context.Context, tx bun.Tx, p *store.Payment, billID *int64, fen int64) error {
	row := &store.Overpayment{PaymentID: p.ID, OrderID: p.OrderID, BillID: billID, AmountFen: fen, Status: store.OverpaymentOpen, CreatedAt: p.CreatedAt}
	if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("billing: overpayment: %w", err)
	}
	return nil
}

// HandleNotification is the old door of a one-merchant channel (/notify/<channel>): see
// Notify. It returns the acknowledgement the channel expects when the notification was
// handled now or before; an error means "not believed" and the channel will retry (or give
// up, and the order will be queried).
func (s *Service) HandleNotification(ctx context.Context, channelName string, header http.Header, body []byte, remoteAddr string) (contentType string, ack []byte, err error) {
	a, err := s.Notify(ctx, channelName, 0, header, body, remoteAddr)
	if err != nil {
		return "", nil, err
	}
	return a.ContentType, a.Body, nil
}

// Notify is the whole path of a company's asynchronous notification, of a payment or a
// refund, through the door of a channel and merchant (merchantID 0: a one-merchant
// channel's door): keep it raw, have the provider verify and decode it, check what it
// claims against our own rows (the app id and merchant number against the account, the
// attempt, the merchant, the amount), then apply it at most once. It returns the
// company's acknowledgement: positive when handled now or before, negative (with the
// error) when it must not be believed or could not be handled, so that the company sends
// it again. A signed message whose claims are wrong changes nothing and is kept.
func (s *Service) Notify(ctx context.Context, channelName string, merchantID int64, header http.Header, body []byte, remoteAddr string) (channel.Ack, error) {
	var gw *Gateway
	var err error
	if _, legacy := s.Channels[channelName]; legacy && merchantID == 0 {
		gw, err = s.gateway(ctx, channelName, store.DefaultMerchantID)
	} else if !legacy && merchantID != 0 && s.Merchants.Driver(channelName) != nil {
		gw, err = s.gateway(ctx, channelName, merchantID)
	} else {
		return channel.Ack{}, fault.New(fault.ErrNotFound, "not_found", "unknown channel")
	}
	if err != nil {
		return channel.Ack{}, err
	}
	rec := &store.Notification{Channel: channelName, Headers: headerText(header), Body: string(body), RemoteAddr: remoteAddr, ReceivedAt: s.now()}
	if merchantID != 0 {
		rec.MerchantID = &merchantID
	}
	n, err := gw.Provider.Notification(ctx, header, body)
	if err == nil {
		rec.OrderNo = store.Clip(cmpOr(n.Trade.OrderNo, n.Refund.RefundNo), 32)
		if n.Raw != "" {
			rec.Body = n.Raw // the decrypted form where the company encrypts
		}
		err = checkIdentity(gw.Provider, n)
	}
	if err == nil {
		switch n.Kind {
		case channel.NoticePaid:
			t := n.Trade
			if t.Raw == "" {
				t.Raw = cmpOr(n.Raw, string(body))
			}
			var out Outcome
			out, err = s.applyTrade(ctx, channelName, t, rec, merchantID)
			if err == nil && out.Duplicate {
				rec.Outcome = "duplicate"
			}
		case channel.NoticeRefund:
			err = s.noticeRefund(ctx, channelName, merchantID, n.Refund)
			if err == nil {
				rec.Outcome = "refund"
			}
		default:
			// A signed word that a trade is waiting or closed needs no action: it is recorded
			// and acknowledged (else the company repeats it for a day), once it is checked
			// against our own rows.
			if n.Trade.OrderNo != "" {
				err = s.checkNotifiedOrder(ctx, channelName, merchantID, n.Trade)
			}
			if err == nil {
				rec.Outcome, rec.Error = "ignored", store.Clip(cmpOr(n.Reason, "nothing to do"), 500)
			}
		}
	}
	if err != nil {
		rec.Outcome, rec.Error = "rejected", store.Clip(err.Error(), 500)
		rec.Body = clipRejected(rec.Body)
	}
	observeNotification(channelName, rec.Outcome, err)
	if rec.Outcome != "applied" { // an applied one was written with the payment
		if _, ierr := s.DB.NewInsert().Model(rec).Exec(context.WithoutCancel(ctx)); ierr != nil {
			s.log().Error("store notification", "channel", channelName, "err", ierr)
		}
	}
	if err != nil {
		nack := gw.Provider.Ack(false, "rejected")
		if errors.Is(err, channel.ErrBadSignature) || errors.Is(err, channel.ErrMalformed) {
			return nack, fault.New(fault.ErrInvalid, "notification_rejected", "%v", err)
		}
		return nack, err
	}
	return gw.Provider.Ack(true, ""), nil
}

// checkIdentity compares what a verified notification claims (app id, merchant number)
// with the account it came to: a message signed by the company for another merchant or
// app is not ours to apply.
func checkIdentity(p channel.Provider, n channel.Notice) error {
	return identity(p, n, true)
}

// identity is checkIdentity; a query's answer (strict false) came to our own signed request
// on this account, and may leave out what the company does not repeat there (Alipay's
// query has no seller_id): only what it names is compared.
func identity(p channel.Provider, n channel.Notice, strict bool) error {
	id, ok := p.(channel.Identifier)
	if !ok || n.Kind == channel.NoticeRefund {
		return nil
	}
	appID, merchantNo := id.Identity()
	if appID != "" && n.Trade.AppID != "" && n.Trade.AppID != appID {
		return fault.New(fault.ErrInvalid, "app_mismatch", "通知的应用号 %s 不是本商户的", n.Trade.AppID)
	}
	if merchantNo != "" && n.Trade.MerchantNo != merchantNo && (strict || n.Trade.MerchantNo != "") {
		return fault.New(fault.ErrInvalid, "merchant_mismatch", "通知的商户号 %s 不是本商户的", n.Trade.MerchantNo)
	}
	return nil
}

// noticeRefund settles a refund from the company's notification, through the same
// settle as the answer to the request and the follow-up query: at most once.
func (s *Service) noticeRefund(ctx context.Context, channelName string, merchantID int64, res channel.RefundResult) error {
	r := new(store.Refund)
	if err := s.DB.NewSelect().Model(r).Where("refund_no = ?", res.RefundNo).Scan(ctx); err != nil {
		return fault.NotFound(err, "退款单不存在")
	}
	if r.Channel != channelName {
		return fault.New(fault.ErrInvalid, "channel_mismatch", "退款 %s 不是通过 %s 办理的", r.RefundNo, channelName)
	}
	if merchantID != 0 {
		var order store.Order
		if err := s.DB.NewSelect().Model(&order).Column("merchant_id").Where("id = ?", r.OrderID).Scan(ctx); err != nil {
			return fmt.Errorf("billing: refund order: %w", err)
		}
		if order.MerchantID != merchantID {
			return fault.New(fault.ErrInvalid, "merchant_mismatch", "退款 %s 不属于该收款商户", r.RefundNo)
		}
	}
	switch r.Status {
	case store.RefundProcessing:
	case store.RefundSucceeded, store.RefundFailed:
		return nil // settled before: the company repeats itself
	default:
		return fault.New(fault.ErrConflict, "refund_state", "退款 %s 尚未发往渠道", r.RefundNo)
	}
	_, err := s.settleRefund(ctx, r, res, nil, "channel:"+channelName)
	return err
}

// checkNotifiedOrder checks a verified notification that needs no action against the order
// it names: it exists, was sent to that channel, and (when the channel says) for that amount.
func (s *Service) checkNotifiedOrder(ctx context.Context, channelName string, merchantID int64, t channel.Trade) error {
	return store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		if t.AmountFen == 0 {
			// The message does not say: check the rest with the amount our row has.
			a := new(store.PaymentAttempt)
			if err := tx.NewSelect().Model(a).Where("attempt_no = ?", t.OrderNo).Scan(ctx); err == nil {
				t.AmountFen = a.AmountFen
			} else {
				o := new(store.Order)
				if err := tx.NewSelect().Model(o).Column("total_fen").Where("order_no = ?", t.OrderNo).Scan(ctx); err != nil {
					return fault.NotFound(err, "订单不存在")
				}
				t.AmountFen = o.TotalFen
			}
		}
		_, _, err := s.tradeOrder(ctx, tx, channelName, t, merchantID)
		return err
	})
}

func headerText(h http.Header) string {
	b, _ := json.Marshal(h)
	return string(b)
}

// queuePaidEvents writes a bill.paid or bill.partial callback for each credited bill (as
// creditBill left it) that came from a business system.
func queuePaidEvents(ctx context.Context, tx bun.Tx, bills []*store.Bill, now time.Time) error {
	for _, b := range bills {
		if b.SourceClient == "" {
			continue
		}
		if err := QueueBillEvent(ctx, tx, b, "bill."+string(b.Status), now); err != nil {
			return err
		}
	}
	return nil
}
