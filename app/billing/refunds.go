package billing

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"campuspay/app/bizday"
	"campuspay/app/channel"
	"campuspay/app/fault"
	"campuspay/app/money"
	"campuspay/store"
)

// refundTransitions lists, for each refund status, the statuses it may move to: forward
// only, one table for every change a refund goes through.
var refundTransitions = map[store.RefundStatus][]store.RefundStatus{
	store.RefundPending:    {store.RefundApproved, store.RefundRejected},
	store.RefundApproved:   {store.RefundProcessing},
	store.RefundProcessing: {store.RefundSucceeded, store.RefundFailed},
	store.RefundSucceeded:  {},
	store.RefundFailed:     {},
	store.RefundRejected:   {},
}

// CanMoveRefund reports whether a refund may go from one status to another.
func CanMoveRefund(from, to store.RefundStatus) bool {
	for _, s := range refundTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// liveRefund are the statuses of a refund that holds money back: asked for, approved, or
// sent to the channel. What they hold may not be asked for again.
var liveRefund = []store.RefundStatus{store.RefundPending, store.RefundApproved, store.RefundProcessing}

// RefundStatusLabel is a refund status as people read it.
func RefundStatusLabel(s store.RefundStatus) string {
	switch s {
	case store.RefundPending:
		return "待审核"
	case store.RefundApproved:
		return "已批准"
	case store.RefundProcessing:
		return "退款中"
	case store.RefundSucceeded:
		return "退款成功"
	case store.RefundFailed:
		return "退款失败"
	case store.RefundRejected:
		return "已驳回"
	}
	return string(s)
}

// MaxRefundReason is how long (in characters) a refund's reason or a decision note may be.
const MaxRefundReason = 200

// RefundRequest asks for money back on one bill.
type RefundRequest struct {
	BillID    int64
	AmountFen int64
	Reason    string
	Actor     string // login name of who asks (the audit log and the approval rule use it)
	// DeptScope confines department staff to their own department's bills: another
	// department's bill is "not found". Nil for finance.
	DeptScope *int64
	// Source is "console" (the default) or "api"; an API refund carries its client's app id
	// and the client's own refund number, unique per client.
	Source         string
	SourceClient   string
	ClientRefundNo string
}

// PaymentRoom is one payment of a bill and how much of what it credited the bill may still
// be refunded through it.
type PaymentRoom struct {
	PaymentID   int64     `bun:"payment_id"`
	OrderID     int64     `bun:"order_id"`
	Channel     string    `bun:"channel"`
	TradeNo     string    `bun:"trade_no"`
	PaidAt      time.Time `bun:"paid_at"`
	CreditedFen int64     `bun:"credited_fen"` // what this payment credited the bill
	HeldFen     int64     `bun:"held_fen"`     // refunded or being refunded from it
}

// RoomFen is what may still be refunded through the payment.
func (p PaymentRoom) RoomFen() int64 { return max(p.CreditedFen-p.HeldFen, 0) }

// RefundQuote is what a bill may be refunded now, for the request form and the request.
type RefundQuote struct {
	Bill          *store.Bill // with Item and Item.Department
	PaidFen       int64
	RefundedFen   int64 // refunded already
	HeldFen       int64 // asked for, approved or being executed
	RefundableFen int64 // paid − refunded − held
	MaxSingleFen  int64 // the most one refund can return (the roomiest payment)
	Payments      []PaymentRoom
	Closed        string // why the bill cannot be refunded at all, or ""
}

// RefundQuote tells what bill billID may be refunded now.
func (s *Service) RefundQuote(ctx context.Context, billID int64, scope *int64) (*RefundQuote, error) {
	bill := new(store.Bill)
	if err := s.DB.NewSelect().Model(bill).Relation("Item").Relation("Item.Department").
		Where("bill.id = ?", billID).Scan(ctx); err != nil {
		return nil, fault.NotFound(err, "款项不存在")
	}
	if scope != nil && bill.Item.DepartmentID != *scope {
		return nil, fault.New(fault.ErrNotFound, "not_found", "款项不存在")
	}
	return quoteRefund(ctx, s.DB, bill, s.now())
}

// quoteRefund works out what bill may be refunded at now, reading inside db (the caller's
// transaction when it means to act on the answer).
func quoteRefund(ctx context.Context, db bun.IDB, bill *store.Bill, now time.Time) (*RefundQuote, error) {
	q := &RefundQuote{Bill: bill, PaidFen: bill.AmountPaidFen, RefundedFen: bill.AmountRefundedFen}
	err := db.NewSelect().TableExpr("receipts AS r").
		ColumnExpr("p.id AS payment_id, p.order_id, p.channel, p.trade_no, p.paid_at, r.amount_fen AS credited_fen").
		ColumnExpr("COALESCE((SELECT SUM(f.amount_fen) FROM refunds AS f WHERE f.payment_id = p.id AND f.bill_id = r.bill_id AND f.status NOT IN (?)), 0) AS held_fen",
			bun.In([]store.RefundStatus{store.RefundFailed, store.RefundRejected})).
		Join("JOIN payments AS p ON p.id = r.payment_id").
		Where("r.bill_id = ?", bill.ID).Where("r.replaces_no = ''").
		OrderExpr("p.paid_at DESC, p.id DESC").
		Scan(ctx, &q.Payments)
	if err != nil {
		return nil, fmt.Errorf("billing: refund payments: %w", err)
	}
	if err := db.NewSelect().Model((*store.Refund)(nil)).ColumnExpr("COALESCE(SUM(amount_fen), 0)").
		Where("bill_id = ?", bill.ID).Where("status IN (?)", bun.In(liveRefund)).Scan(ctx, &q.HeldFen); err != nil {
		return nil, fmt.Errorf("billing: refunds held: %w", err)
	}
	q.RefundableFen = max(q.PaidFen-q.RefundedFen-q.HeldFen, 0)
	// Money collected offline (cash, POS, deduction) has no channel to go back through:
	// it is returned at the finance office, not here.
	online, offline := q.Payments[:0], false
	for _, p := range q.Payments {
		if p.Channel == ChannelOffline {
			offline = true
			continue
		}
		online = append(online, p)
		q.MaxSingleFen = max(q.MaxSingleFen, min(p.RoomFen(), q.RefundableFen))
	}
	q.Payments = online
	item := bill.Item
	switch {
	case bill.Status != store.BillPaid && bill.Status != store.BillPartial:
		q.Closed = "款项" + BillStatusLabel(bill.Status) + "，不能退款"
	case item != nil && item.RefundableUntil != nil && !now.Before(*item.RefundableUntil):
		q.Closed = "收费项目「" + item.Name + "」的退款期限已过（截至 " + item.RefundableUntil.In(bizday.Shanghai).Format("2006-01-02 15:04") + "）"
	case q.RefundableFen == 0 && q.HeldFen > 0:
		q.Closed = "该款项的已缴金额均在退款审批或处理中"
	case q.RefundableFen == 0:
		q.Closed = "该款项没有可退金额"
	case q.MaxSingleFen == 0 && offline:
		q.Closed = "该款项为线下收款（现金、POS 或代扣），不能原路退回，请在财务处窗口办理退款"
	case q.MaxSingleFen == 0:
		q.Closed = "该款项没有可原路退回的支付记录"
	}
	return q, nil
}

// pick chooses the payment a refund of amountFen goes back through: the newest with room.
func (q *RefundQuote) pick(amountFen int64) (PaymentRoom, error) {
	if q.Closed != "" {
		return PaymentRoom{}, fault.New(fault.ErrConflict, "not_refundable", "%s", q.Closed)
	}
	if amountFen > q.RefundableFen {
		return PaymentRoom{}, fault.New(fault.ErrInvalid, "refund_exceeds_paid",
			"退款金额 %s 超过可退金额 %s（已缴 %s，已退 %s，审批或处理中 %s）",
			money.Format(amountFen), money.Format(q.RefundableFen), money.Format(q.PaidFen), money.Format(q.RefundedFen), money.Format(q.HeldFen))
	}
	for _, p := range q.Payments {
		if p.RoomFen() >= amountFen {
			return p, nil
		}
	}
	return PaymentRoom{}, fault.New(fault.ErrInvalid, "refund_split",
		"该款项由多笔支付缴纳，每笔只能原路退回：请分笔退款，单笔最多 %s", money.Format(q.MaxSingleFen))
}

// RequestRefund asks for amountFen of a paid bill back. The bill row is locked while the
// refundable amount is worked out and the request written, so that two requests at once can
// never together ask for more than was paid. The refund waits in pending for finance.
func (s *Service) RequestRefund(ctx context.Context, req RefundRequest) (*store.Refund, error) {
	reason, err := RefundText(req.Reason, "退款原因")
	if err != nil {
		return nil, err
	}
	if req.AmountFen <= 0 || req.AmountFen > MaxAmountFen {
		return nil, fault.New(fault.ErrInvalid, "amount_invalid", "退款金额须大于 0")
	}
	now := s.now()
	r := &store.Refund{
		BillID: &req.BillID, AmountFen: req.AmountFen, Reason: reason, Status: store.RefundPending,
		RequestedBy: req.Actor, RequestedAt: now, Source: store.RefundSourceConsole,
		SourceClient: req.SourceClient, ClientRefundNo: req.ClientRefundNo, CreatedAt: now, UpdatedAt: now,
	}
	if req.Source != "" {
		r.Source = req.Source
	}
	err = store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		bill := new(store.Bill)
		if err := store.ForUpdate(tx.NewSelect().Model(bill).Where("id = ?", req.BillID)).Scan(ctx); err != nil {
			return fault.NotFound(err, "款项不存在")
		}
		bill.Item = new(store.ChargeItem)
		if err := tx.NewSelect().Model(bill.Item).Where("id = ?", bill.ItemID).Scan(ctx); err != nil {
			return fmt.Errorf("billing: refund item: %w", err)
		}
		if req.DeptScope != nil && bill.Item.DepartmentID != *req.DeptScope {
			return fault.New(fault.ErrNotFound, "not_found", "款项不存在")
		}
		q, err := quoteRefund(ctx, tx, bill, now)
		if err != nil {
			return err
		}
		pay, err := q.pick(req.AmountFen)
		if err != nil {
			return err
		}
		r.OrderID, r.PaymentID, r.Channel = pay.OrderID, pay.PaymentID, pay.Channel
		if err := insertRefund(ctx, tx, r); err != nil {
			return err
		}
		detail := fmt.Sprintf("bill=%s amount=%d payment=%s reason=%s", bill.BillNo, r.AmountFen, pay.TradeNo, reason)
		return s.auditRefund(ctx, tx, r, req.Actor, "refund.requested", detail, now)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// RequestClientRefund is RequestRefund for a business system (Source "api"): idempotent on
// the client's refund number. The same number again for the same bill, amount and reason
// returns the refund as it stands (created false); with anything different it is a
// refund_conflict.
func (s *Service) RequestClientRefund(ctx context.Context, req RefundRequest) (r *store.Refund, created bool, err error) {
	req.Source = store.RefundSourceAPI
	if req.SourceClient == "" || req.ClientRefundNo == "" || len(req.ClientRefundNo) > 64 {
		return nil, false, fault.New(fault.ErrInvalid, "bad_request", "退款单号无效")
	}
	if req.Actor == "" {
		req.Actor = "client:" + req.SourceClient
	}
	existing := func() (*store.Refund, error) {
		old := new(store.Refund)
		err := s.DB.NewSelect().Model(old).Where("source_client = ?", req.SourceClient).
			Where("client_refund_no = ?", req.ClientRefundNo).Scan(ctx)
		if err != nil {
			return nil, err
		}
		reason, _ := RefundText(req.Reason, "退款原因")
		if old.BillID == nil || *old.BillID != req.BillID || old.AmountFen != req.AmountFen || old.Reason != reason {
			return nil, fault.New(fault.ErrConflict, "refund_conflict", "退款单号 %s 已用于另一笔退款", req.ClientRefundNo)
		}
		return old, nil
	}
	if old, err := existing(); err == nil || !errors.Is(err, sql.ErrNoRows) {
		return old, false, err
	}
	r, err = s.RequestRefund(ctx, req)
	if err != nil {
		var be *fault.Error
		if errors.As(err, &be) && be.Code == "refund_duplicate" { // the same number at the same moment
			old, err := existing()
			return old, false, err
		}
		return nil, false, err
	}
	return r, true, nil
}

// RequestOverpaymentRefund asks for an overpayment (money no bill could take) to go back to
// the payer through the channel it came by. It waits for another finance user's approval.
func (s *Service) RequestOverpaymentRefund(ctx context.Context, overpaymentID int64, actor string) (*store.Refund, error) {
	now := s.now()
	var r *store.Refund
	err := store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		op := new(store.Overpayment)
		if err := store.ForUpdate(tx.NewSelect().Model(op).Where("id = ?", overpaymentID)).Scan(ctx); err != nil {
			return fault.NotFound(err, "溢缴款记录不存在")
		}
		if op.Status != store.OverpaymentOpen {
			return fault.New(fault.ErrConflict, "overpayment_refunded", "该溢缴款已退款")
		}
		var live store.Refund
		err := tx.NewSelect().Model(&live).Column("refund_no").Where("overpayment_id = ?", op.ID).
			Where("status IN (?)", bun.In(liveRefund)).Limit(1).Scan(ctx)
		if err == nil {
			return fault.New(fault.ErrConflict, "refund_exists", "该溢缴款已有退款申请（%s），请勿重复申请", live.RefundNo)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("billing: overpayment refunds: %w", err)
		}
		p := new(store.Payment)
		if err := tx.NewSelect().Model(p).Column("id", "order_id", "channel", "trade_no").Where("id = ?", op.PaymentID).Scan(ctx); err != nil {
			return fmt.Errorf("billing: overpayment payment: %w", err)
		}
		r = &store.Refund{
			OrderID: p.OrderID, PaymentID: p.ID, OverpaymentID: &op.ID, AmountFen: op.AmountFen,
			Reason: "溢缴款退回", Status: store.RefundPending, RequestedBy: actor, RequestedAt: now,
			Channel: p.Channel, Source: store.RefundSourceConsole, CreatedAt: now, UpdatedAt: now,
		}
		if err := insertRefund(ctx, tx, r); err != nil {
			return err
		}
		detail := fmt.Sprintf("overpayment=%d amount=%d payment=%s", op.ID, op.AmountFen, p.TradeNo)
		return s.auditRefund(ctx, tx, r, actor, "refund.requested", detail, now)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// insertRefund numbers and writes a new refund inside tx. A console refund's client number
// is its own refund number, so that the (source_client, client_refund_no) key holds.
func insertRefund(ctx context.Context, tx bun.Tx, r *store.Refund) error {
	r.ID = 0 // a transaction run again starts afresh
	for attempt := 0; ; attempt++ {
		r.RefundNo = newNumber("R", r.CreatedAt)
		if r.Source == store.RefundSourceConsole || r.ClientRefundNo == "" {
			r.ClientRefundNo = r.RefundNo
		}
		_, err := tx.NewInsert().Model(r).Exec(ctx)
		if err == nil {
			return nil
		}
		if store.IsDuplicate(err) && r.Source == store.RefundSourceAPI {
			return fault.New(fault.ErrConflict, "refund_duplicate", "退款单号 %s 已存在", r.ClientRefundNo)
		}
		if !store.IsDuplicate(err) || attempt == 3 {
			return fmt.Errorf("billing: insert refund: %w", err)
		}
	}
}

// ApproveRefund approves a pending refund and executes it at once through the channel of
// its order. Finance approves; never the person who asked for it. The refund that comes back
// has succeeded, failed, or is still processing (the channel did not answer: SyncRefund and
// the job ask again later).
func (s *Service) ApproveRefund(ctx context.Context, id int64, actor, note string) (*store.Refund, error) {
	note, err := refundNote(note, "审批意见")
	if err != nil {
		return nil, err
	}
	now := s.now()
	err = store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		r, err := lockRefund(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.RequestedBy == actor {
			return fault.New(fault.ErrForbidden, "own_refund", "不能审批自己提交的退款申请，请由另一位财务人员审批")
		}
		if err := moveRefund(ctx, tx, r, store.RefundApproved, now, "审批", func(q *bun.UpdateQuery) *bun.UpdateQuery {
			return q.Set("decided_by = ?", actor).Set("decided_at = ?", now).Set("decision_note = ?", note)
		}); err != nil {
			return err
		}
		return s.auditRefund(ctx, tx, r, actor, "refund.approved", note, now)
	})
	if err != nil {
		return nil, err
	}
	return s.executeRefund(ctx, id, actor)
}

// RejectRefund turns a pending refund down, with the reason the requester will read.
func (s *Service) RejectRefund(ctx context.Context, id int64, actor, reason string) (*store.Refund, error) {
	reason, err := RefundText(reason, "驳回原因")
	if err != nil {
		return nil, err
	}
	now := s.now()
	var r *store.Refund
	err = store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		if r, err = lockRefund(ctx, tx, id); err != nil {
			return err
		}
		if err := moveRefund(ctx, tx, r, store.RefundRejected, now, "驳回", func(q *bun.UpdateQuery) *bun.UpdateQuery {
			return q.Set("decided_by = ?", actor).Set("decided_at = ?", now).Set("decision_note = ?", reason).Set("finished_at = ?", now)
		}); err != nil {
			return err
		}
		r.DecidedBy, r.DecidedAt, r.DecisionNote, r.FinishedAt = actor, &now, reason, &now
		if err := s.refundEvent(ctx, tx, r, "refund.rejected", now); err != nil {
			return err
		}
		return s.auditRefund(ctx, tx, r, actor, "refund.rejected", reason, now)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// executeRefund sends an approved refund to its channel and applies the answer.
func (s *Service) executeRefund(ctx context.Context, id int64, actor string) (*store.Refund, error) {
	r, err := s.loadRefund(ctx, id)
	if err != nil {
		return nil, err
	}
	var order store.Order
	var p store.Payment
	if err := s.DB.NewSelect().Model(&order).Where("id = ?", r.OrderID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: refund order: %w", err)
	}
	if err := s.DB.NewSelect().Model(&p).Where("id = ?", r.PaymentID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: refund payment: %w", err)
	}
	gw, call, err := s.refundCall(ctx, r, &order, &p)
	if err != nil {
		return r, err // stays approved; SyncRefund sends it once the channel is back
	}
	now := s.now()
	err = store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if r, err = lockRefund(ctx, tx, id); err != nil {
			return err
		}
		if err := moveRefund(ctx, tx, r, store.RefundProcessing, now, "执行", nil); err != nil {
			return err
		}
		return s.auditRefund(ctx, tx, r, actor, "refund.sent", "channel="+r.Channel, now)
	})
	if err != nil {
		return nil, err
	}
	res, err := gw.Provider.Refund(ctx, call)
	return s.settleRefund(ctx, r, res, err, actor)
}

// refundCall is the channel and the request for a refund of a payment: the attempt it
// paid (the order itself before attempts existed) at that attempt's merchant.
func (s *Service) refundCall(ctx context.Context, r *store.Refund, order *store.Order, p *store.Payment) (*Gateway, channel.RefundCall, error) {
	ref := channel.TradeRef{AttemptNo: order.OrderNo, TradeNo: p.TradeNo, CreatedAt: order.CreatedAt}
	merchantID, total := order.MerchantID, order.TotalFen
	if p.AttemptNo != "" {
		a := new(store.PaymentAttempt)
		if err := s.DB.NewSelect().Model(a).Where("attempt_no = ?", p.AttemptNo).Scan(ctx); err != nil {
			return nil, channel.RefundCall{}, fmt.Errorf("billing: refund attempt: %w", err)
		}
		ref = channel.TradeRef{AttemptNo: a.AttemptNo, TradeNo: p.TradeNo, CreatedAt: a.CreatedAt}
		merchantID, total = a.MerchantID, a.AmountFen
	}
	gw, err := s.gateway(ctx, r.Channel, merchantID)
	if err != nil {
		return nil, channel.RefundCall{}, err
	}
	call := channel.RefundCall{Trade: ref, RefundNo: r.RefundNo, AmountFen: r.AmountFen, TotalFen: total, Reason: r.Reason,
		CreatedAt: r.CreatedAt}
	if r.DecidedAt != nil {
		call.CreatedAt = *r.DecidedAt
	}
	if gw.Account != nil {
		call.NotifyURL = s.notifyURL(r.Channel, gw.Account)
	}
	return gw, call, nil
}

// settleRefund applies a channel's answer about a processing refund: success, failure, or
// nothing known yet (callErr set, or the channel still processing).
func (s *Service) settleRefund(ctx context.Context, r *store.Refund, res channel.RefundResult, callErr error, actor string) (*store.Refund, error) {
	now := s.now()
	unknown := func(message string) (*store.Refund, error) {
		return s.refundUnknown(ctx, r.ID, message, actor, now)
	}
	switch {
	case callErr != nil:
		s.log().Warn("refund: channel gave no answer", "refund", r.RefundNo, "channel", r.Channel, "err", callErr)
		return unknown("渠道暂未返回退款结果，系统将自动查询")
	case res.RefundNo != "" && res.RefundNo != r.RefundNo:
		// An answer about another refund says nothing about this one, whatever its status.
		s.log().Error("refund: channel answered about another refund", "refund", r.RefundNo, "answered", res.RefundNo)
		return unknown("渠道返回的退款单号与申请不符，请人工核对")
	case res.Status == channel.RefundSucceeded && res.AmountFen != 0 && res.AmountFen != r.AmountFen:
		s.log().Error("refund: channel refunded another amount", "refund", r.RefundNo, "asked", r.AmountFen, "refunded", res.AmountFen)
		return unknown(fmt.Sprintf("渠道退款金额 %s 与申请金额不符，请人工核对", money.Format(res.AmountFen)))
	case res.Status == channel.RefundSucceeded:
		return s.refundSucceeded(ctx, r.ID, res, actor)
	case res.Status == channel.RefundFailed || res.Status == channel.RefundClosed:
		return s.refundFailed(ctx, r.ID, res, actor)
	case res.Status == channel.RefundAbnormal:
		// The company cannot return the money by itself (WeChat ABNORMAL: the payer's card
		// was closed): finance acts now, with the company's words.
		return s.refundAbnormal(ctx, r.ID, cmp.Or(strings.TrimSpace(res.Message), "渠道退款异常，需人工处理"), actor, now)
	}
	if m := strings.TrimSpace(res.Message); m != "" {
		return unknown("渠道正在处理退款：" + m)
	}
	return unknown("渠道正在处理退款")
}

// refundFollowUps are the waits between asking a channel again about a refund it has given
// no outcome for: 1, 2, 5, 10 and 30 minutes, then every hour.
var refundFollowUps = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute}

// RefundEscalateAfter is how long after it was sent a refund without an outcome is put in
// front of finance (escalated_at, shown in the refund queue with the channel's words). It
// is still followed up, hourly, and settled whenever the channel answers.
const RefundEscalateAfter = 24 * time.Hour

func refundFollowUp(attempt int) time.Duration {
	if attempt >= 1 && attempt <= len(refundFollowUps) {
		return refundFollowUps[attempt-1]
	}
	return time.Hour
}

// refundUnknown records that the channel gave no outcome for a processing refund yet: what
// it said, when to ask again (refundFollowUps), and, once it has waited RefundEscalateAfter,
// that it is finance's to look into.
func (s *Service) refundUnknown(ctx context.Context, id int64, message, actor string, now time.Time) (*store.Refund, error) {
	err := store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		r, err := lockRefund(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.Status != store.RefundProcessing {
			return nil // settled meanwhile
		}
		attempts := r.SyncAttempts + 1
		next := now.Add(refundFollowUp(attempts))
		q := tx.NewUpdate().Model((*store.Refund)(nil)).
			Set("channel_message = ?", store.Clip(message, 500)).Set("updated_at = ?", now).
			Set("sync_attempts = ?", attempts).Set("next_sync_at = ?", next).
			Where("id = ?", r.ID).Where("status = ?", store.RefundProcessing)
		sent := r.CreatedAt
		if r.DecidedAt != nil {
			sent = *r.DecidedAt
		}
		escalate := r.EscalatedAt == nil && !now.Before(sent.Add(RefundEscalateAfter))
		if escalate {
			q = q.Set("escalated_at = ?", now)
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("billing: refund follow-up: %w", err)
		}
		if escalate {
			s.log().Warn("refund without outcome put before finance", "refund", r.RefundNo, "channel", r.Channel, "attempts", attempts)
			detail := fmt.Sprintf("no outcome after %d queries since %s: %s", attempts, sent.Format(time.RFC3339), message)
			return s.auditRefund(ctx, tx, r, actor, "refund.escalated", detail, now)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.loadRefund(ctx, id)
}

// refundAbnormal puts a processing refund before finance at once: the company reported
// that a person must act. It is still followed up, and settles whenever the company says.
func (s *Service) refundAbnormal(ctx context.Context, id int64, message, actor string, now time.Time) (*store.Refund, error) {
	err := store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		r, err := lockRefund(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.Status != store.RefundProcessing {
			return nil
		}
		q := tx.NewUpdate().Model((*store.Refund)(nil)).
			Set("channel_message = ?", store.Clip(message, 500)).Set("updated_at = ?", now).
			Set("sync_attempts = sync_attempts + 1").Set("next_sync_at = ?", now.Add(time.Hour)).
			Where("id = ?", r.ID).Where("status = ?", store.RefundProcessing)
		if r.EscalatedAt == nil {
			q = q.Set("escalated_at = ?", now)
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("billing: refund abnormal: %w", err)
		}
		if r.EscalatedAt != nil {
			return nil
		}
		s.log().Warn("refund abnormal, put before finance", "refund", r.RefundNo, "channel", r.Channel)
		return s.auditRefund(ctx, tx, r, actor, "refund.escalated", "abnormal: "+message, now)
	})
	if err != nil {
		return nil, err
	}
	return s.loadRefund(ctx, id)
}

// refundSucceeded records that the channel returned the money, in one transaction: the
// refund, the bill's refunded amount and status, its receipt voided (and, when something is
// left, reissued for the rest), the overpayment settled, the callbacks, the audit entry.
func (s *Service) refundSucceeded(ctx context.Context, id int64, res channel.RefundResult, actor string) (*store.Refund, error) {
	now := s.now()
	err := store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		r, err := lockRefund(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.Status == store.RefundSucceeded {
			return nil // applied meanwhile (a query and the approval answered at once)
		}
		if err := moveRefund(ctx, tx, r, store.RefundSucceeded, now, "完成", func(q *bun.UpdateQuery) *bun.UpdateQuery {
			return q.Set("channel_refund_no = ?", store.Clip(res.ChannelRefundNo, 64)).
				Set("channel_message = ?", store.Clip(res.Message, 500)).Set("finished_at = ?", now)
		}); err != nil {
			return err
		}
		r.FinishedAt = &now
		detail := fmt.Sprintf("amount=%d channel_refund_no=%s", r.AmountFen, res.ChannelRefundNo)
		if r.OverpaymentID != nil {
			if _, err := tx.NewUpdate().Model((*store.Overpayment)(nil)).Set("status = ?", store.OverpaymentRefunded).
				Where("id = ?", *r.OverpaymentID).Where("status = ?", store.OverpaymentOpen).Exec(ctx); err != nil {
				return fmt.Errorf("billing: settle overpayment: %w", err)
			}
		}
		if r.BillID != nil {
			note, err := s.creditRefund(ctx, tx, r, now)
			if err != nil {
				return err
			}
			detail += note
		}
		return s.auditRefund(ctx, tx, r, actor, "refund.succeeded", detail, now)
	})
	if err != nil {
		return nil, err
	}
	return s.loadRefund(ctx, id)
}

// creditRefund takes a succeeded refund off its bill: amounts and status, the receipt, the
// callbacks. It returns a note for the audit entry.
func (s *Service) creditRefund(ctx context.Context, tx bun.Tx, r *store.Refund, now time.Time) (string, error) {
	bill := new(store.Bill)
	if err := store.ForUpdate(tx.NewSelect().Model(bill).Where("id = ?", *r.BillID)).Scan(ctx); err != nil {
		return "", fmt.Errorf("billing: refund bill: %w", err)
	}
	before := bill.Status
	bill.AmountRefundedFen += r.AmountFen
	bill.Status = BillStatusOf(bill.AmountDueFen, bill.AmountPaidFen, bill.AmountRefundedFen, before == store.BillCancelled)
	res, err := tx.NewUpdate().Model((*store.Bill)(nil)).
		Set("amount_refunded_fen = ?", bill.AmountRefundedFen).Set("status = ?", bill.Status).
		Set("version = version + 1").Set("updated_at = ?", now).
		Where("id = ?", bill.ID).Where("version = ?", bill.Version).Exec(ctx)
	if err != nil {
		return "", fmt.Errorf("billing: refund bill: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", fmt.Errorf("billing: bill %d changed under us", bill.ID)
	}
	note, err := reissueAfterRefund(ctx, tx, r, now)
	if err != nil {
		return "", err
	}
	if bill.SourceClient != "" {
		if bill.Status == store.BillRefunded && before != store.BillRefunded {
			if err := QueueBillEvent(ctx, tx, bill, "bill.refunded", now); err != nil {
				return "", err
			}
		}
		if err := queueRefundEvent(ctx, tx, bill, r, "refund.succeeded", now); err != nil {
			return "", err
		}
	}
	return note + fmt.Sprintf(" bill=%s refunded=%d status=%s", bill.BillNo, bill.AmountRefundedFen, bill.Status), nil
}

// reissueAfterRefund voids the live receipt of the refund's bill and payment (reason 退款) and,
// when the refund left part of it, issues a new receipt for that part with the next number.
//
// Numbering here is the rare synchronous path: a refund is one approved act of a person,
// never part of a rush, and its audit entry names both numbers. It takes its numbers in
// this transaction through numberInTx — the year's sequence row, locked, as every numberer
// takes it — so the numbers stay gapless and unique beside the numberer's batches. The two
// cannot deadlock: the numberer locks only unnumbered receipts, and one here is numbered
// under the sequence row's lock before this transaction writes to it.
func reissueAfterRefund(ctx context.Context, tx bun.Tx, r *store.Refund, now time.Time) (string, error) {
	live := new(store.ReceiptRow)
	err := tx.NewSelect().Model(live).Where("bill_id = ?", *r.BillID).Where("payment_id = ?", r.PaymentID).
		Where("voided = ?", false).OrderExpr("id DESC").Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return " receipt=none", nil // voided by hand before: nothing to reissue
	}
	if err != nil {
		return "", fmt.Errorf("billing: refund receipt: %w", err)
	}
	if !live.Numbered() {
		// Still waiting for the numberer (a crash left it, and the sweep has not run): it
		// takes its number now, the receipt replacing it has to name it.
		if live.ReceiptNo, err = numberOneInTx(ctx, tx, live.Year, live.ID); err != nil {
			return "", err
		}
	}
	if err := voidReceipt(ctx, tx, live.ReceiptNo, "退款"); err != nil {
		return "", err
	}
	note := " voided=" + live.ReceiptNo
	rest := live.AmountFen - r.AmountFen
	if rest <= 0 {
		return note, nil
	}
	var paidAt time.Time
	if err := tx.NewSelect().Model((*store.Payment)(nil)).Column("paid_at").Where("id = ?", r.PaymentID).Scan(ctx, &paidAt); err != nil {
		return "", fmt.Errorf("billing: refund payment: %w", err)
	}
	year := receiptYear(paidAt) // the money left is the payment's: its year, not the refund's
	next := &store.ReceiptRow{Receipt: live.Receipt, ReplacesNo: live.ReceiptNo}
	next.ID = 0
	next.ReceiptNo, next.Year, next.Seq = "", year, 0 // numbered just below
	next.AmountFen, next.VerifyToken, next.IssuedAt = rest, randomToken(24), now
	next.PrintCount, next.Voided, next.VoidReason = 0, false, ""
	if _, err := tx.NewInsert().Model(next).Exec(ctx); err != nil {
		return "", fmt.Errorf("billing: reissue receipt: %w", err)
	}
	if next.ReceiptNo, err = numberOneInTx(ctx, tx, year, next.ID); err != nil {
		return "", err
	}
	return note + " reissued=" + next.ReceiptNo, nil
}

// numberOneInTx numbers one receipt inside tx unless another numberer has, and returns its
// number, read with a locking read (on MySQL the latest, not this transaction's snapshot).
// The year's receipts still waiting below it are numbered first, in the same transaction:
// numbers follow receipt ids here as in the numberer's batches.
func numberOneInTx(ctx context.Context, tx bun.Tx, year int, id int64) (string, error) {
	var ids []int64
	if err := tx.NewSelect().Model((*store.Receipt)(nil)).Column("id").Where("seq IS NULL").
		Where("year = ?", year).Where("id < ?", id).OrderExpr("id").Limit(numberBatch).Scan(ctx, &ids); err != nil {
		return "", fmt.Errorf("billing: receipts to number: %w", err)
	}
	if _, err := numberInTx(ctx, tx, year, append(ids, id)); err != nil {
		return "", err
	}
	var no string
	q := tx.NewSelect().Model((*store.Receipt)(nil)).Column("receipt_no").Where("id = ?", id)
	if err := store.ForUpdate(q).Scan(ctx, &no); err != nil || no == "" {
		return "", fmt.Errorf("billing: receipt %d number: %q, %v", id, no, err)
	}
	return no, nil
}

// refundFailed records that the channel refused the refund for good. The bill is untouched.
func (s *Service) refundFailed(ctx context.Context, id int64, res channel.RefundResult, actor string) (*store.Refund, error) {
	now := s.now()
	message := store.Clip(strings.TrimSpace(res.Message), 500)
	if message == "" {
		message = "渠道拒绝了退款"
	}
	err := store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		r, err := lockRefund(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.Status == store.RefundFailed {
			return nil
		}
		if err := moveRefund(ctx, tx, r, store.RefundFailed, now, "结束", func(q *bun.UpdateQuery) *bun.UpdateQuery {
			return q.Set("channel_message = ?", message).Set("finished_at = ?", now)
		}); err != nil {
			return err
		}
		r.ChannelMessage, r.FinishedAt = message, &now
		if err := s.refundEvent(ctx, tx, r, "refund.failed", now); err != nil {
			return err
		}
		return s.auditRefund(ctx, tx, r, actor, "refund.failed", message, now)
	})
	if err != nil {
		return nil, err
	}
	return s.loadRefund(ctx, id)
}

// SyncRefund follows up a refund whose outcome is not known yet: an approved one is sent to
// its channel (it could not be before); a processing one is asked about with QueryRefund,
// and when the channel does not know it (or reports it failed), sent again under the same
// refund number — every channel is idempotent on it — so that a request lost on the way is
// executed once and a refused one is recorded as failed. A finished refund is returned as is.
func (s *Service) SyncRefund(ctx context.Context, id int64, actor string) (*store.Refund, error) {
	r, err := s.loadRefund(ctx, id)
	if err != nil {
		return nil, err
	}
	switch r.Status {
	case store.RefundApproved:
		return s.executeRefund(ctx, id, actor)
	case store.RefundProcessing:
	default:
		return r, nil
	}
	var order store.Order
	var p store.Payment
	if err := s.DB.NewSelect().Model(&order).Where("id = ?", r.OrderID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: refund order: %w", err)
	}
	if err := s.DB.NewSelect().Model(&p).Where("id = ?", r.PaymentID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: refund payment: %w", err)
	}
	gw, call, err := s.refundCall(ctx, r, &order, &p)
	if err != nil {
		return r, err
	}
	res, err := gw.Provider.QueryRefund(ctx, call)
	if err != nil || res.Status == channel.RefundFailed {
		res, err = gw.Provider.Refund(ctx, call)
	}
	return s.settleRefund(ctx, r, res, err, actor)
}

// SyncProcessingRefunds follows up the refunds left approved for over a minute, and the
// processing ones whose next follow-up is due (refundFollowUps: backing off to hourly), see
// SyncRefund, and returns how many of them finished.
func (s *Service) SyncProcessingRefunds(ctx context.Context) (int, error) {
	now := s.now()
	var ids []int64
	if err := s.DB.NewSelect().Model((*store.Refund)(nil)).Column("id").
		Where("status IN (?)", bun.In([]store.RefundStatus{store.RefundApproved, store.RefundProcessing})).
		Where("((next_sync_at IS NULL AND updated_at <= ?) OR next_sync_at <= ?)", now.Add(-time.Minute), now).
		OrderExpr("updated_at").Limit(200).Scan(ctx, &ids); err != nil {
		return 0, fmt.Errorf("billing: refunds to sync: %w", err)
	}
	done := 0
	for _, id := range ids {
		r, err := s.SyncRefund(ctx, id, "system")
		if err != nil {
			s.log().Warn("sync refund", "refund", id, "err", err)
			continue
		}
		if r.Status == store.RefundSucceeded || r.Status == store.RefundFailed {
			done++
		}
	}
	return done, nil
}

// RefundQueueFilter narrows the refund queue.
type RefundQueueFilter struct {
	Status       store.RefundStatus // "" for any
	DepartmentID int64              // 0 for any (finance's filter)
	// DeptScope confines department staff to their department's bills (refunds of
	// overpayments, which have no bill, are finance's alone). Nil for every department.
	DeptScope *int64
}

// RefundQueue returns a page of refunds, newest first, with their bills, items, departments
// and orders, and how many match in all.
func (s *Service) RefundQueue(ctx context.Context, f RefundQueueFilter, offset, limit int) ([]*store.Refund, int, error) {
	var rows []*store.Refund
	q := s.refundQuery(&rows)
	if f.Status != "" {
		q = q.Where("refund.status = ?", f.Status)
	}
	if f.DepartmentID != 0 {
		q = q.Where("bill__item.department_id = ?", f.DepartmentID)
	}
	if f.DeptScope != nil {
		q = q.Where("bill__item.department_id = ?", *f.DeptScope)
	}
	n, err := store.ScanAndCount(ctx, q.OrderExpr("refund.id DESC").Offset(int64(offset)).Limit(int64(limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("billing: refunds: %w", err)
	}
	return rows, int(n), nil
}

func (s *Service) refundQuery(model any) *bun.SelectQuery {
	return s.DB.NewSelect().Model(model).
		Relation("Bill").Relation("Bill.Item").Relation("Bill.Item.Department").
		Relation("Order").Relation("Payment", func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.ExcludeColumn("raw")
	})
}

// RefundDetail returns one refund with its bill, item, department, order and payment. A
// refund outside scope (another department's, or an overpayment's for department staff) is
// not found.
func (s *Service) RefundDetail(ctx context.Context, id int64, scope *int64) (*store.Refund, error) {
	r := new(store.Refund)
	if err := s.refundQuery(r).Where("refund.id = ?", id).Scan(ctx); err != nil {
		return nil, fault.NotFound(err, "退款不存在")
	}
	if r.Bill != nil && r.Bill.ID == 0 {
		r.Bill = nil
	}
	if scope != nil && (r.Bill == nil || r.Bill.Item == nil || r.Bill.Item.DepartmentID != *scope) {
		return nil, fault.New(fault.ErrNotFound, "not_found", "退款不存在")
	}
	return r, nil
}

// RefundTimeline is the refund's history from the audit log, oldest first.
func (s *Service) RefundTimeline(ctx context.Context, refundNo string) ([]*store.AuditLog, error) {
	var rows []*store.AuditLog
	err := s.DB.NewSelect().Model(&rows).Where("target_type = 'refund'").Where("target_id = ?", refundNo).
		OrderExpr("id").Limit(100).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("billing: refund timeline: %w", err)
	}
	return rows, nil
}

// RefundActionLabel names a refund's audit action for its timeline.
func RefundActionLabel(action string) string {
	switch action {
	case "refund.requested":
		return "提交退款申请"
	case "refund.approved":
		return "审批通过"
	case "refund.rejected":
		return "驳回"
	case "refund.sent":
		return "提交渠道退款"
	case "refund.succeeded":
		return "退款成功"
	case "refund.failed":
		return "退款失败"
	case "refund.escalated":
		return "渠道长时间无结果，转财务人工核查"
	}
	return action
}

// OverpaymentRow is an overpayment as finance lists it, with the payment it came with and
// the latest refund asked for it (nil when none).
type OverpaymentRow struct {
	store.Overpayment `bun:",extend"`

	OrderNo   string        `bun:"order_no,scanonly"`
	PayerName string        `bun:"payer_name,scanonly"`
	Channel   string        `bun:"channel,scanonly"`
	TradeNo   string        `bun:"trade_no,scanonly"`
	PaidAt    time.Time     `bun:"paid_at,scanonly"`
	ItemName  string        `bun:"item_name,scanonly"`
	Refund    *store.Refund `bun:"-"`
}

// Refundable reports whether a refund may be asked for the overpayment now.
func (o *OverpaymentRow) Refundable() bool {
	return o.Status == store.OverpaymentOpen && (o.Refund == nil || o.Refund.Status == store.RefundFailed || o.Refund.Status == store.RefundRejected)
}

// StateBadge and StateLabel tell where the overpayment stands: refunded, its latest refund's
// status, or waiting for a refund ("open").
func (o *OverpaymentRow) StateBadge() string {
	switch {
	case o.Status == store.OverpaymentRefunded:
		return string(store.BillRefunded)
	case o.Refund != nil:
		return string(o.Refund.Status)
	}
	return string(store.OverpaymentOpen)
}

func (o *OverpaymentRow) StateLabel() string {
	switch {
	case o.Status == store.OverpaymentRefunded:
		return "已退款"
	case o.Refund != nil:
		return "退款" + strings.TrimPrefix(RefundStatusLabel(o.Refund.Status), "退款")
	}
	return "待退款"
}

// Overpayments returns a page of overpayments (status "open", "refunded", or "" for all),
// newest first, and how many match in all.
func (s *Service) Overpayments(ctx context.Context, status string, offset, limit int) ([]*OverpaymentRow, int, error) {
	var rows []*OverpaymentRow
	q := s.DB.NewSelect().Model(&rows).ColumnExpr("overpayment.*").
		ColumnExpr("o.order_no, o.payer_name, p.channel, p.trade_no, p.paid_at, COALESCE(ci.name, '') AS item_name").
		Join("JOIN orders AS o ON o.id = overpayment.order_id").
		Join("JOIN payments AS p ON p.id = overpayment.payment_id").
		Join("LEFT JOIN bills AS b ON b.id = overpayment.bill_id").
		Join("LEFT JOIN charge_items AS ci ON ci.id = b.item_id")
	if status != "" {
		q = q.Where("overpayment.status = ?", status)
	}
	n, err := store.ScanAndCount(ctx, q.OrderExpr("overpayment.id DESC").Offset(int64(offset)).Limit(int64(limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("billing: overpayments: %w", err)
	}
	if len(rows) == 0 {
		return rows, int(n), nil
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var refunds []*store.Refund
	if err := s.DB.NewSelect().Model(&refunds).Where("overpayment_id IN (?)", bun.In(ids)).OrderExpr("id").Scan(ctx); err != nil {
		return nil, 0, fmt.Errorf("billing: overpayment refunds: %w", err)
	}
	latest := map[int64]*store.Refund{}
	for _, r := range refunds {
		latest[*r.OverpaymentID] = r
	}
	for _, row := range rows {
		row.Refund = latest[row.ID]
	}
	return rows, int(n), nil
}

// lockRefund reads a refund inside tx, locking its row.
func lockRefund(ctx context.Context, tx bun.Tx, id int64) (*store.Refund, error) {
	r := new(store.Refund)
	if err := store.ForUpdate(tx.NewSelect().Model(r).Where("id = ?", id)).Scan(ctx); err != nil {
		return nil, fault.NotFound(err, "退款不存在")
	}
	return r, nil
}

func (s *Service) loadRefund(ctx context.Context, id int64) (*store.Refund, error) {
	r := new(store.Refund)
	if err := s.DB.NewSelect().Model(r).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, fault.NotFound(err, "退款不存在")
	}
	return r, nil
}

// moveRefund moves r to status to, guarded by its current status; set adds columns. verb
// names the action for the message when the move is not allowed.
func moveRefund(ctx context.Context, tx bun.Tx, r *store.Refund, to store.RefundStatus, now time.Time, verb string, set func(*bun.UpdateQuery) *bun.UpdateQuery) error {
	if !CanMoveRefund(r.Status, to) {
		return fault.New(fault.ErrConflict, "refund_state", "退款%s，不能%s", RefundStatusLabel(r.Status), verb)
	}
	q := tx.NewUpdate().Model((*store.Refund)(nil)).Set("status = ?", to).Set("updated_at = ?", now).
		Where("id = ?", r.ID).Where("status = ?", r.Status)
	if set != nil {
		q = set(q)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return fmt.Errorf("billing: refund %s: %w", to, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fault.New(fault.ErrConflict, "refund_changed", "退款状态已变化，请刷新页面后重试")
	}
	r.Status, r.UpdatedAt = to, now
	return nil
}

func (s *Service) auditRefund(ctx context.Context, tx bun.Tx, r *store.Refund, actor, action, detail string, now time.Time) error {
	return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: actor, Action: action, TargetType: "refund",
		TargetID: r.RefundNo, Detail: store.Clip(detail, 2000)})
}

// refundEvent queues a callback about refund r when its bill came from a business system.
func (s *Service) refundEvent(ctx context.Context, tx bun.Tx, r *store.Refund, eventType string, now time.Time) error {
	if r.BillID == nil {
		return nil
	}
	bill := new(store.Bill)
	if err := tx.NewSelect().Model(bill).Where("id = ?", *r.BillID).Scan(ctx); err != nil {
		return fmt.Errorf("billing: refund event bill: %w", err)
	}
	if bill.SourceClient == "" {
		return nil
	}
	return queueRefundEvent(ctx, tx, bill, r, eventType, now)
}

// RefundText checks a required text (a reason) of at most MaxRefundReason characters.
func RefundText(s, label string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fault.New(fault.ErrInvalid, "reason_required", "请填写%s", label)
	}
	return refundNote(s, label)
}

func refundNote(s, label string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxRefundReason {
		return "", fault.New(fault.ErrInvalid, "reason_invalid", "%s不能超过 %d 个字", label, MaxRefundReason)
	}
	return s, nil
}

// RefundDepartments lists the departments, by code, for the refund queue's filter.
func (s *Service) RefundDepartments(ctx context.Context) ([]*store.Department, error) {
	var rows []*store.Department
	if err := s.DB.NewSelect().Model(&rows).OrderExpr("code").Limit(500).Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: departments: %w", err)
	}
	return rows, nil
}

// RefundableBills finds the paid and partly paid bills of a payer (by payer number or the
// exact bill number) that a refund may be asked for, within scope, newest first.
func (s *Service) RefundableBills(ctx context.Context, payer string, scope *int64) ([]*store.Bill, error) {
	payer = strings.TrimSpace(payer)
	if payer == "" {
		return nil, nil
	}
	var bills []*store.Bill
	q := s.DB.NewSelect().Model(&bills).Relation("Item").Relation("Item.Department").
		Where("bill.status IN (?)", bun.In([]store.BillStatus{store.BillPaid, store.BillPartial})).
		Where("(bill.payer_id IN (SELECT id FROM users WHERE payer_no = ?) OR bill.bill_no = ?)", payer, payer)
	if scope != nil {
		q = q.Where("item.department_id = ?", *scope)
	}
	if err := q.OrderExpr("bill.id DESC").Limit(50).Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: refundable bills: %w", err)
	}
	return bills, nil
}
