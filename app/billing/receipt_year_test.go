package billing_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/bizday"
	"campuspay/app/channel"
	"campuspay/store"
	"campuspay/store/storetest"
)

// Receipts are numbered in the bizday.Shanghai year the money arrived: a payment's paid_at, an
// offline collection's day. Not the year it was recorded, imported or refunded in.

func TestReceiptOfAPaymentAtNewYearsEveCountsInThatYear(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		ctx := context.Background()
		f.Clock.Set(time.Date(2026, 12, 31, 23, 50, 0, 0, bizday.Shanghai).UTC())
		o := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID})
		// Paid at the channel a second before midnight; the notification lands after it.
		f.Clock.Set(time.Date(2027, 1, 1, 0, 0, 30, 0, bizday.Shanghai).UTC())
		trade := channel.Trade{OrderNo: o.OrderNo, TradeNo: "SB-NYE", AmountFen: o.TotalFen, Status: channel.TradeSuccess,
			PaidAt: time.Date(2026, 12, 31, 23, 59, 59, 0, bizday.Shanghai)}
		out, err := f.Svc.ApplyTrade(ctx, "sandbox", trade)
		if err != nil {
			t.Fatal(err)
		}
		if rs, err := f.Svc.OrderReceipts(ctx, o.ID); out.Receipts != 1 || err != nil || len(rs) != 1 || rs[0].ReceiptNo != "202600000001" {
			t.Fatalf("receipts = %d: %v, %v; want 202600000001", out.Receipts, rs, err)
		}
		// Refunded in part two days later: the receipt for what is left is still 2026's.
		f.Clock.Set(time.Date(2027, 1, 2, 9, 0, 0, 0, bizday.Shanghai).UTC())
		r := f.request(t, 0, 10000, "dept_clerk")
		if r, err := f.Svc.ApproveRefund(ctx, r.ID, "finance", ""); err != nil || r.Status != store.RefundSucceeded {
			t.Fatalf("ApproveRefund = %+v, %v", r, err)
		}
		rs := f.receipts(t, f.Bills[0].ID)
		if len(rs) != 2 || !rs[0].Voided || rs[1].ReceiptNo != "202600000002" || rs[1].Year != 2026 || rs[1].AmountFen != 40000 {
			for _, r := range rs {
				t.Logf("receipt %s year %d amount %d voided %v", r.ReceiptNo, r.Year, r.AmountFen, r.Voided)
			}
			t.Errorf("receipts after the refund: want 202600000001 voided and 202600000002 for 40000")
		}
	})
}

func TestReceiptOfAnOfflineCollectionCountsInTheYearOfItsDay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newOfflineFixture(t, db)
		f.Clock.Set(time.Date(2027, 1, 2, 10, 0, 0, 0, bizday.Shanghai).UTC())
		job, bad := f.importOffline(t, offlineHeader+"现金,,,B1,500.00,2026-12-31,XJ-NYE,\n")
		if job.Status != store.ImportDone {
			t.Fatalf("import = %s %v", job.Status, bad)
		}
		var rs []store.Receipt
		if err := db.NewSelect().Model(&rs).Scan(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || !strings.HasPrefix(rs[0].ReceiptNo, "2026") || rs[0].Year != 2026 {
			t.Errorf("receipts = %+v, want one numbered in 2026", rs)
		}
	})
}
