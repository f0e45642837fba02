package jobs

import (
	"context"
	"log/slog"
	"testing"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/store"
	"campuspay/store/storetest"
)

// An instance that crashed between a payment's commit and the numbering leaves its receipts
// unnumbered; the number-receipts job of whichever instance runs the jobs numbers them,
// after the numbers already given.
func TestNumberReceiptsJobNumbersWhatACrashLeft(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		o := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID})
		if _, err := f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(o, "SB-1")); err != nil {
			t.Fatal(err)
		}
		if err := f.Svc.NumberReceipts(ctx); err != nil {
			t.Fatal(err)
		}
		// The crashed instance's payment: its receipt, written unnumbered, straight to the table.
		left := &store.Receipt{Year: 2026, BillID: f.Bills[1].ID, OrderID: o.ID, PaymentID: 99,
			PayerName: f.Payer.Name, ItemName: f.Item.Name, Department: "财务处", AmountFen: f.Bills[1].AmountDueFen,
			Channel: "sandbox", VerifyToken: "crashcrashcrashcrash0001", IssuedAt: f.Clock.Now()}
		billingtest.Insert(t, db, left)

		// The job as the scheduler runs it, on another instance (a Service of its own).
		survivor := &billing.Service{DB: db, Now: f.Clock.Now}
		NumberReceipts(survivor, slog.Default())(ctx)

		got := new(store.Receipt)
		if err := db.NewSelect().Model(got).Where("id = ?", left.ID).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if got.Seq != 2 || got.ReceiptNo != "202600000002" {
			t.Errorf("left receipt = seq %d no %q, want 2 and 202600000002", got.Seq, got.ReceiptNo)
		}
		var last int64
		if err := db.NewSelect().Model((*store.ReceiptSequence)(nil)).Column("last_no").Where("year = ?", 2026).Scan(ctx, &last); err != nil || last != 2 {
			t.Errorf("sequence = %d, %v; want 2", last, err)
		}
	})
}
