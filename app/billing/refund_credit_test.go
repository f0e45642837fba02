package billing_test

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/store"
	"campuspay/store/storetest"
)

func TestPayingTheRestOfABillRefundedMeanwhileIsAnOverpayment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		ctx := context.Background()
		db.NewUpdate().Model((*store.ChargeItem)(nil)).Set("partial_allowed = ?", true).Where("id = ?", f.Item.ID).Exec(ctx)
		f.pay(t, 0, 20000, "SB-PART") // 200.00 of 500.00
		rest := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID})
		if rest.TotalFen != 30000 {
			t.Fatalf("order for the rest = %d, want 30000", rest.TotalFen)
		}
		r := f.request(t, 0, 20000, "dept_clerk")
		if r, err := f.Svc.ApproveRefund(ctx, r.ID, "finance", ""); err != nil || r.Status != store.RefundSucceeded {
			t.Fatalf("ApproveRefund = %+v, %v; want succeeded", r, err)
		}
		if b := f.Bill(t, f.Bills[0].ID); b.Status != store.BillRefunded {
			t.Fatalf("bill after the refund = %s, want refunded", b.Status)
		}
		receiptsBefore := billingtest.Count(t, db, "receipts")

		out, err := f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(rest, "SB-REST"))
		if err != nil {
			t.Fatal(err)
		}
		if out.CreditedFen != 0 || out.OverpaidFen != 30000 || out.Receipts != 0 {
			t.Errorf("outcome = %+v, want nothing credited, 30000 overpaid, no receipt", out)
		}
		b := f.Bill(t, f.Bills[0].ID)
		if b.Status != store.BillRefunded || b.AmountPaidFen != 20000 || b.AmountRefundedFen != 20000 || b.HeldByOrderID != nil {
			t.Errorf("bill = %s paid %d refunded %d held %v; want still refunded, 20000/20000, released",
				b.Status, b.AmountPaidFen, b.AmountRefundedFen, b.HeldByOrderID)
		}
		var ops []store.Overpayment
		if err := db.NewSelect().Model(&ops).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(ops) != 1 || ops[0].AmountFen != 30000 || ops[0].Status != "open" {
			t.Errorf("overpayments = %+v, want one open of 30000", ops)
		}
		if n := billingtest.Count(t, db, "receipts"); n != receiptsBefore {
			t.Errorf("receipts = %d, want %d (none for money no bill took)", n, receiptsBefore)
		}
	})
}
