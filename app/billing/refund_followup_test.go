package billing_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/channel"
	"campuspay/store"
	"campuspay/store/storetest"
)

func TestRefundWithoutOutcomeBacksOffThenGoesToFinanceAndStillSettles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		ctx := context.Background()
		f.pay(t, 0, 0, "SB-1")
		processing := func(string, string) (channel.RefundResult, error) {
			return channel.RefundResult{Status: channel.RefundProcessing, Message: "退款处理中，请稍后查询"}, nil
		}
		f.ch.answer = func(req channel.RefundRequest) (channel.RefundResult, error) { return processing("", req.RefundNo) }
		queries := 0
		f.ch.queryAnswer = func(o, r string) (channel.RefundResult, error) { queries++; return processing(o, r) }
		r := f.request(t, 0, 50000, "dept1")
		if got, err := f.Svc.ApproveRefund(ctx, r.ID, "finance", ""); err != nil || got.Status != store.RefundProcessing {
			t.Fatalf("approve = %+v, %v; want processing", got, err)
		}
		// The job runs every minute; in the first hour the channel is asked 5 times (after
		// 1, 2, 5, 10 and 30 minutes), not 60.
		for range 60 {
			f.Clock.Advance(time.Minute)
			if _, err := f.Svc.SyncProcessingRefunds(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if queries != 5 {
			t.Errorf("queries in the first hour = %d, want 5", queries)
		}
		// Then hourly; not in front of finance before a day has passed.
		for f.Clock.Now().Before(f.reload(t, r.ID).CreatedAt.Add(23 * time.Hour)) {
			f.Clock.Advance(time.Hour)
			if _, err := f.Svc.SyncProcessingRefunds(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.reload(t, r.ID); got.EscalatedAt != nil || queries > 5+23 {
			t.Errorf("after 23 h: escalated %v, %d queries; want not yet, at most hourly", got.EscalatedAt, queries)
		}
		for range 2 {
			f.Clock.Advance(time.Hour)
			f.Svc.SyncProcessingRefunds(ctx)
		}
		got := f.reload(t, r.ID)
		if got.Status != store.RefundProcessing || got.EscalatedAt == nil || !strings.Contains(got.ChannelMessage, "退款处理中，请稍后查询") {
			t.Fatalf("after 25 h = %s escalated %v message %q; want processing, before finance, with the channel's words", got.Status, got.EscalatedAt, got.ChannelMessage)
		}
		rows, _, err := f.Svc.RefundQueue(ctx, billing.RefundQueueFilter{Status: store.RefundProcessing}, 0, 20)
		if err != nil || len(rows) != 1 || rows[0].EscalatedAt == nil {
			t.Errorf("refund queue = %d rows, %v; want the escalated refund", len(rows), err)
		}
		// The channel answers at last: the refund is settled as usual.
		f.ch.queryAnswer = nil
		f.ch.answer = nil
		f.Clock.Advance(time.Hour)
		if n, err := f.Svc.SyncProcessingRefunds(ctx); err != nil || n != 1 {
			t.Fatalf("SyncProcessingRefunds = %d, %v; want 1 finished", n, err)
		}
		if got := f.reload(t, r.ID); got.Status != store.RefundSucceeded {
			t.Errorf("status = %s, want succeeded", got.Status)
		}
		if b := f.Bill(t, f.Bills[0].ID); b.Status != store.BillRefunded || b.AmountRefundedFen != 50000 {
			t.Errorf("bill = %s refunded %d, want refunded 50000", b.Status, b.AmountRefundedFen)
		}
	})
}

func TestRefundAnswerAboutAnotherRefundNumberIsNotBelieved(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		ctx := context.Background()
		f.pay(t, 0, 0, "SB-1")
		f.ch.answer = func(req channel.RefundRequest) (channel.RefundResult, error) {
			return channel.RefundResult{RefundNo: "R-SOMEONE-ELSE", ChannelRefundNo: "SR9", AmountFen: req.AmountFen, Status: channel.RefundSucceeded}, nil
		}
		r := f.request(t, 0, 50000, "dept1")
		got, err := f.Svc.ApproveRefund(ctx, r.ID, "finance", "")
		if err != nil || got.Status != store.RefundProcessing || !strings.Contains(got.ChannelMessage, "退款单号与申请不符") {
			t.Fatalf("approve = %+v, %v; want still processing, flagged", got, err)
		}
		if b := f.Bill(t, f.Bills[0].ID); b.AmountRefundedFen != 0 || b.Status != store.BillPaid {
			t.Errorf("bill = %s refunded %d; want untouched", b.Status, b.AmountRefundedFen)
		}
	})
}
