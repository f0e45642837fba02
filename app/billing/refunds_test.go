package billing_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/bizday"
	"campuspay/app/channel"
	"campuspay/app/fault"
	"campuspay/store"
	"campuspay/store/storetest"
)

func TestCanMoveRefund(t *testing.T) {
	tests := []struct {
		from, to store.RefundStatus
		want     bool
	}{
		{store.RefundPending, store.RefundApproved, true},
		{store.RefundPending, store.RefundRejected, true},
		{store.RefundApproved, store.RefundProcessing, true},
		{store.RefundProcessing, store.RefundSucceeded, true},
		{store.RefundProcessing, store.RefundFailed, true},
		{store.RefundPending, store.RefundProcessing, false},
		{store.RefundPending, store.RefundSucceeded, false},
		{store.RefundApproved, store.RefundRejected, false},
		{store.RefundApproved, store.RefundSucceeded, false},
		{store.RefundRejected, store.RefundApproved, false},
		{store.RefundFailed, store.RefundProcessing, false},
		{store.RefundSucceeded, store.RefundFailed, false},
		{store.RefundProcessing, store.RefundPending, false},
	}
	for _, tt := range tests {
		if got := billing.CanMoveRefund(tt.from, tt.to); got != tt.want {
			t.Errorf("CanMoveRefund(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

func TestRefundOverRefundableChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		ctx := context.Background()
		f.pay(t, 0, 0, "SB-1") // ¥500.00
		f.request(t, 0, 20000, "dept1")
		audits := billingtest.Count(t, db, "audit_logs")

		cases := []struct {
			name   string
			amount int64
			reason string
			code   string
			msg    string
		}{
			{"more than paid", 50001, "退学", "refund_exceeds_paid", "超过可退金额 ¥300.00"},
			{"more than left after a pending one", 30001, "退学", "refund_exceeds_paid", "审批或处理中 ¥200.00"},
			{"zero", 0, "退学", "amount_invalid", "大于 0"},
			{"no reason", 100, "  ", "reason_required", "请填写退款原因"},
			{"reason too long", 100, strings.Repeat("退", 201), "reason_invalid", "200"},
		}
		for _, c := range cases {
			_, err := f.Svc.RequestRefund(ctx, billing.RefundRequest{BillID: f.Bills[0].ID, AmountFen: c.amount, Reason: c.reason, Actor: "dept1"})
			if refundErrCode(err) != c.code || !strings.Contains(fault.Message(err, ""), c.msg) {
				t.Errorf("%s: err = %v, want %s saying %q", c.name, err, c.code, c.msg)
			}
		}
		if n := billingtest.Count(t, db, "refunds"); n != 1 {
			t.Errorf("refunds = %d, want only the first one", n)
		}
		if n := billingtest.Count(t, db, "audit_logs"); n != audits {
			t.Errorf("audit rows grew from %d to %d on refused requests", audits, n)
		}
		// An unpaid bill cannot be refunded at all.
		_, err := f.Svc.RequestRefund(ctx, billing.RefundRequest{BillID: f.Bills[1].ID, AmountFen: 100, Reason: "x", Actor: "dept1"})
		if !errors.Is(err, fault.ErrConflict) || !strings.Contains(fault.Message(err, ""), "待缴") {
			t.Errorf("refund of an unpaid bill: err = %v, want a conflict naming its status", err)
		}
	})
}

func TestRefundAfterDeadlineOrOutsideDepartmentIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		ctx := context.Background()
		f.pay(t, 2, 0, "SB-1")
		other := int64(9999)
		_, err := f.Svc.RequestRefund(ctx, billing.RefundRequest{BillID: f.Bills[2].ID, AmountFen: 100, Reason: "x", Actor: "d", DeptScope: &other})
		if !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("another department's bill: err = %v, want not found", err)
		}
		until := f.Clock.Now().Add(-time.Hour)
		if _, err := db.NewUpdate().Model((*store.ChargeItem)(nil)).Set("refundable_until = ?", until).Where("id = ?", f.Item.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		_, err = f.Svc.RequestRefund(ctx, billing.RefundRequest{BillID: f.Bills[2].ID, AmountFen: 100, Reason: "x", Actor: "d"})
		if !errors.Is(err, fault.ErrConflict) || !strings.Contains(fault.Message(err, ""), "退款期限已过") {
			t.Errorf("after refundable_until: err = %v, want 退款期限已过", err)
		}
	})
}

func TestRequesterCannotApproveOwnRefund(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		f.pay(t, 0, 0, "SB-1")
		r := f.request(t, 0, 10000, "finance")
		_, err := f.Svc.ApproveRefund(context.Background(), r.ID, "finance", "")
		if !errors.Is(err, fault.ErrForbidden) || !strings.Contains(fault.Message(err, ""), "不能审批自己") {
			t.Fatalf("self approval: err = %v, want forbidden", err)
		}
		if got := f.reload(t, r.ID); got.Status != store.RefundPending {
			t.Errorf("status after refused approval = %s, want pending", got.Status)
		}
		if f.ch.calls != 0 {
			t.Errorf("channel called %d times, want 0", f.ch.calls)
		}
	})
}

func (f *refundFixture) reload(t *testing.T, id int64) *store.Refund {
	t.Helper()
	r := new(store.Refund)
	if err := f.DB.NewSelect().Model(r).Where("id = ?", id).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPartialRefundVoidsReceiptAndReissuesTheRest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		ctx := context.Background()
		f.pay(t, 0, 0, "SB-1") // ¥500.00, receipt …001
		f.pay(t, 2, 0, "SB-2") // ¥80.00, receipt …002
		r := f.request(t, 0, 20000, "dept1")
		got, err := f.Svc.ApproveRefund(ctx, r.ID, "finance", "同意")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.RefundSucceeded || got.ChannelRefundNo != "SR"+r.RefundNo || got.FinishedAt == nil {
			t.Errorf("refund = %s %q, want succeeded with the channel's number", got.Status, got.ChannelRefundNo)
		}
		b := f.Bill(t, f.Bills[0].ID)
		if b.AmountRefundedFen != 20000 || b.Status != store.BillPaid {
			t.Errorf("bill refunded %d status %s, want 20000 and still paid", b.AmountRefundedFen, b.Status)
		}
		rs := f.receipts(t, f.Bills[0].ID)
		if len(rs) != 2 {
			t.Fatalf("receipts = %d, want the voided one and its replacement", len(rs))
		}
		if !rs[0].Voided || rs[0].VoidReason != "退款" {
			t.Errorf("old receipt voided=%v reason=%q, want voided for 退款", rs[0].Voided, rs[0].VoidReason)
		}
		if rs[1].Voided || rs[1].AmountFen != 30000 || rs[1].ReplacesNo != rs[0].ReceiptNo || rs[1].Seq != 3 {
			t.Errorf("new receipt = %+v, want ¥300.00, number 3, replacing %s", rs[1], rs[0].ReceiptNo)
		}
		// A second partial refund replaces the replacement.
		r2 := f.request(t, 0, 5000, "dept1")
		if _, err := f.Svc.ApproveRefund(ctx, r2.ID, "finance", ""); err != nil {
			t.Fatal(err)
		}
		rs = f.receipts(t, f.Bills[0].ID)
		if len(rs) != 3 || !rs[1].Voided || rs[2].AmountFen != 25000 || rs[2].Seq != 4 {
			t.Errorf("after a second refund: %d receipts, last %+v; want three, the last ¥250.00 number 4", len(rs), rs[len(rs)-1])
		}
		// The rest, refunded in full, leaves no live receipt and a refunded bill.
		r3 := f.request(t, 0, 25000, "dept1")
		if _, err := f.Svc.ApproveRefund(ctx, r3.ID, "finance", ""); err != nil {
			t.Fatal(err)
		}
		b = f.Bill(t, f.Bills[0].ID)
		if b.AmountRefundedFen != 50000 || b.Status != store.BillRefunded {
			t.Errorf("bill refunded %d status %s, want 50000 refunded", b.AmountRefundedFen, b.Status)
		}
		for _, rc := range f.receipts(t, f.Bills[0].ID) {
			if !rc.Voided {
				t.Errorf("receipt %s still live after a full refund", rc.ReceiptNo)
			}
		}
		var actions []string
		db.NewSelect().Model((*store.AuditLog)(nil)).Column("action").Where("target_id = ?", r.RefundNo).OrderExpr("id").Scan(ctx, &actions)
		if strings.Join(actions, ",") != "refund.requested,refund.approved,refund.sent,refund.succeeded" {
			t.Errorf("audit = %v", actions)
		}
	})
}

func TestFullRefundOfClientBillQueuesCallbacks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		ctx := context.Background()
		if _, err := db.NewUpdate().Model((*store.Bill)(nil)).Set("source_client = 'crm'").Where("id = ?", f.Bills[2].ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		f.pay(t, 2, 0, "SB-1")
		db.NewDelete().Model((*store.Event)(nil)).Where("1 = 1").Exec(ctx)
		r := f.request(t, 2, 8000, "dept1")
		if _, err := f.Svc.ApproveRefund(ctx, r.ID, "finance", ""); err != nil {
			t.Fatal(err)
		}
		var events []store.Event
		db.NewSelect().Model(&events).OrderExpr("id").Scan(ctx)
		if len(events) != 2 || events[0].Type != "bill.refunded" || events[1].Type != "refund.succeeded" {
			t.Fatalf("events = %+v, want bill.refunded then refund.succeeded", events)
		}
		var payload struct {
			Type string
			Data struct {
				Bill   struct{ Status string }
				Refund struct {
					RefundNo string `json:"refund_no"`
					Amount   int64
				}
			}
		}
		if err := json.Unmarshal([]byte(events[1].Payload), &payload); err != nil {
			t.Fatal(err)
		}
		if payload.Data.Bill.Status != "refunded" || payload.Data.Refund.RefundNo != r.RefundNo || payload.Data.Refund.Amount != 8000 {
			t.Errorf("payload = %s", events[1].Payload)
		}
		// A rejected refund tells the client too; a console bill's would not.
		f.pay(t, 0, 0, "SB-2")
		r2 := f.request(t, 0, 100, "dept1")
		if _, err := f.Svc.RejectRefund(ctx, r2.ID, "finance", ""); refundErrCode(err) != "reason_required" {
			t.Errorf("reject without reason: err = %v, want reason_required", err)
		}
		got, err := f.Svc.RejectRefund(ctx, r2.ID, "finance", "材料不全")
		if err != nil || got.Status != store.RefundRejected || got.DecisionNote != "材料不全" {
			t.Fatalf("reject = %+v, %v", got, err)
		}
		if n := billingtest.Count(t, db, "events"); n != 2 {
			t.Errorf("events = %d after rejecting a console bill's refund, want still 2", n)
		}
		if _, err := f.Svc.ApproveRefund(ctx, r2.ID, "finance2", ""); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("approving a rejected refund: err = %v, want conflict", err)
		}
	})
}

func TestConcurrentRefundRequestsNeverExceedPaid(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		f.pay(t, 0, 0, "SB-1") // ¥500.00
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.Svc.RequestRefund(context.Background(), billing.RefundRequest{BillID: f.Bills[0].ID, AmountFen: 30000, Reason: "重复申请", Actor: "dept1"})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case refundErrCode(err) != "refund_exceeds_paid":
				t.Errorf("losing request: err = %v, want refund_exceeds_paid", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d of %d requests of ¥300.00 on a ¥500.00 bill succeeded, want 1", ok, n)
		}
		var total int64
		db.NewSelect().Model((*store.Refund)(nil)).ColumnExpr("COALESCE(SUM(amount_fen), 0)").Scan(context.Background(), &total)
		if total > 50000 {
			t.Errorf("refunds asked total %d, more than the 50000 paid", total)
		}
	})
}

func TestRefundOfBillPaidInPartsMustBeSplit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		ctx := context.Background()
		db.NewUpdate().Model((*store.ChargeItem)(nil)).Set("partial_allowed = ?", true).Where("id = ?", f.Item.ID).Exec(ctx)
		first := f.pay(t, 0, 20000, "SB-1")
		f.Clock.Advance(time.Minute)
		second := f.pay(t, 0, 30000, "SB-2")
		_, err := f.Svc.RequestRefund(ctx, billing.RefundRequest{BillID: f.Bills[0].ID, AmountFen: 40000, Reason: "x", Actor: "d"})
		if refundErrCode(err) != "refund_split" || !strings.Contains(fault.Message(err, ""), "请分笔退款，单笔最多 ¥300.00") {
			t.Fatalf("err = %v, want 请分笔退款，单笔最多 ¥300.00", err)
		}
		a := f.request(t, 0, 25000, "d") // the newest payment first
		b := f.request(t, 0, 20000, "d") // only the older one has room left
		if a.OrderID != second.ID || b.OrderID != first.ID {
			t.Errorf("refunds went to orders %d and %d, want %d (newest) then %d", a.OrderID, b.OrderID, second.ID, first.ID)
		}
		q, err := f.Svc.RefundQuote(ctx, f.Bills[0].ID, nil)
		if err != nil || q.RefundableFen != 5000 || q.MaxSingleFen != 5000 {
			t.Errorf("quote = %+v, %v; want ¥50.00 left", q, err)
		}
	})
}

func TestSilentChannelLeavesRefundProcessingUntilSynced(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		ctx := context.Background()
		f.pay(t, 0, 0, "SB-1")
		f.ch.answer = func(channel.RefundRequest) (channel.RefundResult, error) {
			return channel.RefundResult{}, channel.ErrUnavailable
		}
		r := f.request(t, 0, 50000, "dept1")
		got, err := f.Svc.ApproveRefund(ctx, r.ID, "finance", "")
		if err != nil || got.Status != store.RefundProcessing || !strings.Contains(got.ChannelMessage, "自动查询") {
			t.Fatalf("approve with a silent channel = %+v, %v; want processing", got, err)
		}
		if b := f.Bill(t, f.Bills[0].ID); b.AmountRefundedFen != 0 {
			t.Errorf("bill refunded %d before the channel answered", b.AmountRefundedFen)
		}
		// The job leaves a refund alone for a minute, then asks; the request never reached
		// the channel, so it is sent again and succeeds.
		f.ch.answer = nil
		if n, err := f.Svc.SyncProcessingRefunds(ctx); err != nil || n != 0 {
			t.Errorf("SyncProcessingRefunds at once = %d, %v; want 0", n, err)
		}
		f.Clock.Advance(2 * time.Minute)
		if n, err := f.Svc.SyncProcessingRefunds(ctx); err != nil || n != 1 {
			t.Fatalf("SyncProcessingRefunds = %d, %v; want 1", n, err)
		}
		if got := f.reload(t, r.ID); got.Status != store.RefundSucceeded {
			t.Errorf("status after sync = %s, want succeeded", got.Status)
		}
		if b := f.Bill(t, f.Bills[0].ID); b.Status != store.BillRefunded {
			t.Errorf("bill status = %s, want refunded", b.Status)
		}
		// Asking again changes nothing and does not refund twice.
		calls := f.ch.calls
		if got, err := f.Svc.SyncRefund(ctx, r.ID, "finance"); err != nil || got.Status != store.RefundSucceeded || f.ch.calls != calls {
			t.Errorf("sync of a finished refund = %v, %v, %d calls", got.Status, err, f.ch.calls-calls)
		}
	})
}

func TestRefundTheChannelRefusesFailsAndLeavesBillAlone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		ctx := context.Background()
		if _, err := db.NewUpdate().Model((*store.Bill)(nil)).Set("source_client = 'crm'").Where("id = ?", f.Bills[0].ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		f.pay(t, 0, 0, "SB-1")
		f.ch.answer = func(req channel.RefundRequest) (channel.RefundResult, error) {
			return channel.RefundResult{RefundNo: req.RefundNo, Status: channel.RefundFailed, Message: "退款总额超过交易已付金额"}, nil
		}
		r := f.request(t, 0, 10000, "dept1")
		got, err := f.Svc.ApproveRefund(ctx, r.ID, "finance", "")
		if err != nil || got.Status != store.RefundFailed || got.ChannelMessage != "退款总额超过交易已付金额" {
			t.Fatalf("approve = %+v, %v; want failed with the channel's message", got, err)
		}
		b := f.Bill(t, f.Bills[0].ID)
		if b.AmountRefundedFen != 0 || b.Status != store.BillPaid {
			t.Errorf("bill = %d refunded, %s; want untouched", b.AmountRefundedFen, b.Status)
		}
		if rs := f.receipts(t, b.ID); len(rs) != 1 || rs[0].Voided {
			t.Errorf("receipts changed after a failed refund")
		}
		var types []string
		db.NewSelect().Model((*store.Event)(nil)).Column("type").Where("type LIKE 'refund.%'").Scan(ctx, &types)
		if strings.Join(types, ",") != "refund.failed" {
			t.Errorf("refund events = %v, want refund.failed", types)
		}
		// The money held by the failed refund is free again.
		q, _ := f.Svc.RefundQuote(ctx, b.ID, nil)
		if q.RefundableFen != 50000 {
			t.Errorf("refundable after a failed refund = %d, want 50000", q.RefundableFen)
		}
	})
}

func TestOverpaymentRefund(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		ctx := context.Background()
		first := f.Order(t, billing.LineRequest{BillID: f.Bills[2].ID})
		f.Clock.Advance(20 * time.Minute)
		if _, err := f.Svc.ExpireOrders(ctx); err != nil {
			t.Fatal(err)
		}
		f.pay(t, 2, 0, "SB-2")
		if _, err := f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(first, "SB-1")); err != nil {
			t.Fatal(err)
		}
		rows, n, err := f.Svc.Overpayments(ctx, "open", 0, 20)
		if err != nil || n != 1 || !rows[0].Refundable() || rows[0].OrderNo != first.OrderNo || rows[0].TradeNo != "SB-1" {
			t.Fatalf("open overpayments = %d %+v, %v", n, rows, err)
		}
		r, err := f.Svc.RequestOverpaymentRefund(ctx, rows[0].ID, "finance")
		if err != nil || r.BillID != nil || r.AmountFen != 8000 || r.OrderID != first.ID {
			t.Fatalf("RequestOverpaymentRefund = %+v, %v", r, err)
		}
		if _, err := f.Svc.RequestOverpaymentRefund(ctx, rows[0].ID, "finance"); refundErrCode(err) != "refund_exists" {
			t.Errorf("second request: err = %v, want refund_exists", err)
		}
		if _, err := f.Svc.ApproveRefund(ctx, r.ID, "finance", ""); !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("self approval: err = %v, want forbidden", err)
		}
		got, err := f.Svc.ApproveRefund(ctx, r.ID, "finance2", "")
		if err != nil || got.Status != store.RefundSucceeded {
			t.Fatalf("approve = %+v, %v", got, err)
		}
		var op store.Overpayment
		db.NewSelect().Model(&op).Where("id = ?", rows[0].ID).Scan(ctx)
		if op.Status != "refunded" {
			t.Errorf("overpayment status = %s, want refunded", op.Status)
		}
		if b := f.Bill(t, f.Bills[2].ID); b.AmountRefundedFen != 0 || b.Status != store.BillPaid {
			t.Errorf("bill = %d refunded %s; an overpayment refund must not touch it", b.AmountRefundedFen, b.Status)
		}
		if _, err := f.Svc.RequestOverpaymentRefund(ctx, rows[0].ID, "finance"); refundErrCode(err) != "overpayment_refunded" {
			t.Errorf("request after refund: err = %v, want overpayment_refunded", err)
		}
	})
}

func TestRefundListAndDetailRespectDepartment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		ctx := context.Background()
		f.pay(t, 0, 0, "SB-1")
		r := f.request(t, 0, 100, "dept1")
		own, other := f.Item.DepartmentID, f.Item.DepartmentID+100
		if rows, n, err := f.Svc.RefundQueue(ctx, billing.RefundQueueFilter{DeptScope: &own}, 0, 20); err != nil || n != 1 || rows[0].Bill.Item.Department.Name != "财务处" {
			t.Errorf("own department's refunds = %d, %v", n, err)
		}
		if _, n, err := f.Svc.RefundQueue(ctx, billing.RefundQueueFilter{DeptScope: &other}, 0, 20); err != nil || n != 0 {
			t.Errorf("another department's refunds = %d, %v; want none", n, err)
		}
		if _, err := f.Svc.RefundDetail(ctx, r.ID, &other); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("RefundDetail for another department: err = %v, want not found", err)
		}
		got, err := f.Svc.RefundDetail(ctx, r.ID, &own)
		if err != nil || got.Order == nil || got.Payment == nil || got.Payment.TradeNo != "SB-1" {
			t.Errorf("RefundDetail = %+v, %v", got, err)
		}
	})
}

func TestReceiptPrintsAndVoid(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		ctx := context.Background()
		f.pay(t, 0, 0, "SB-1")
		f.pay(t, 2, 0, "SB-2")
		rows, n, err := f.Svc.Receipts(ctx, billing.ReceiptFilter{Payer: "张", Day: f.Clock.Now().In(bizday.Shanghai).Format("2006-01-02")}, 0, 20)
		if err != nil || n != 2 || rows[0].OrderNo == "" {
			t.Fatalf("receipts of the day = %d, %v", n, err)
		}
		if _, n, _ := f.Svc.Receipts(ctx, billing.ReceiptFilter{Day: "2020-01-01"}, 0, 20); n != 0 {
			t.Errorf("receipts of another day = %d, want 0", n)
		}
		if _, _, err := f.Svc.Receipts(ctx, billing.ReceiptFilter{Day: "2026-13-01"}, 0, 20); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("bad day: err = %v, want invalid", err)
		}
		nos := []string{rows[0].ReceiptNo, rows[1].ReceiptNo}
		for want := 1; want <= 2; want++ {
			counts, err := f.Svc.CountPrints(ctx, nos, "finance")
			if err != nil || counts[nos[0]] != want || counts[nos[1]] != want {
				t.Errorf("print %d: counts = %v, %v", want, counts, err)
			}
		}
		if _, err := f.Svc.VoidReceipt(ctx, nos[0], "", "finance"); refundErrCode(err) != "reason_required" {
			t.Errorf("void without reason: err = %v", err)
		}
		got, err := f.Svc.VoidReceipt(ctx, nos[0], "开错抬头", "finance")
		if err != nil || !got.Voided || got.VoidReason != "开错抬头" {
			t.Fatalf("void = %+v, %v", got, err)
		}
		if _, err := f.Svc.VoidReceipt(ctx, nos[0], "again", "finance"); refundErrCode(err) != "receipt_voided" {
			t.Errorf("second void: err = %v, want receipt_voided", err)
		}
		if _, n, _ := f.Svc.Receipts(ctx, billing.ReceiptFilter{Status: "valid"}, 0, 20); n != 1 {
			t.Errorf("valid receipts = %d, want 1", n)
		}
	})
}

func TestClientRefundIsIdempotentOnItsNumber(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		ctx := context.Background()
		f.pay(t, 0, 0, "SB-1")
		req := billing.RefundRequest{BillID: f.Bills[0].ID, AmountFen: 10000, Reason: "退学", SourceClient: "crm", ClientRefundNo: "R-1"}
		r, created, err := f.Svc.RequestClientRefund(ctx, req)
		if err != nil || !created || r.Source != "api" || r.ClientRefundNo != "R-1" || r.RequestedBy != "client:crm" {
			t.Fatalf("first request = %+v, %v, %v", r, created, err)
		}
		again, created, err := f.Svc.RequestClientRefund(ctx, req)
		if err != nil || created || again.ID != r.ID {
			t.Errorf("same request again = %v, created %v, %v; want the same refund", again, created, err)
		}
		req.AmountFen = 20000
		if _, _, err := f.Svc.RequestClientRefund(ctx, req); refundErrCode(err) != "refund_conflict" {
			t.Errorf("same number, other amount: err = %v, want refund_conflict", err)
		}
		// Another client may use the same number.
		req.SourceClient = "oa"
		if _, created, err := f.Svc.RequestClientRefund(ctx, req); err != nil || !created {
			t.Errorf("another client's R-1: %v, %v", created, err)
		}
		if n := billingtest.Count(t, db, "refunds"); n != 2 {
			t.Errorf("refunds = %d, want 2", n)
		}
	})
}
