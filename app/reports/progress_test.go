package reports_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/xuri/excelize/v2"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/bizday"
	"campuspay/app/reports"
	"campuspay/store"
	"campuspay/store/storetest"
)

// recomputed adds up an item's bills in Go, row by row, the way an auditor would.
func recomputed(t *testing.T, db *bun.DB, itemID int64) reports.ItemProgress {
	t.Helper()
	var bills []store.Bill
	if err := db.NewSelect().Model(&bills).Where("item_id = ?", itemID).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	var p reports.ItemProgress
	payers := map[int64]bool{}
	for _, b := range bills {
		if b.Status == store.BillCancelled {
			continue
		}
		p.Bills++
		payers[*b.PayerID] = true
		p.DueFen += b.AmountDueFen
		p.PaidFen += b.AmountPaidFen
		p.RefundedFen += b.AmountRefundedFen
		if b.Status == store.BillUnpaid || b.Status == store.BillPartial {
			p.OutstandingFen += b.AmountDueFen - b.AmountPaidFen
			p.UnpaidBills++
		} else {
			p.PaidBills++
		}
	}
	p.InternalPayers = len(payers)
	return p
}

func TestProgressEqualsTheRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		// A second payer with two bills; one of the first payer's bills cancelled.
		for _, amount := range []int64{30000, 45000} {
			billingtest.Insert(t, db, &store.Bill{BillNo: "O" + time.Duration(amount).String(), Source: "console", ItemID: f.Item.ID, PayerID: &f.Other.ID,
				PayerType: "internal", PayerName: f.Other.Name, AmountDueFen: amount, Status: store.BillUnpaid, CreatedAt: f.Clock.Now(), UpdatedAt: f.Clock.Now()})
		}
		o := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID}, billing.LineRequest{BillID: f.Bills[2].ID})
		if _, err := f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(o, "SB-P1")); err != nil {
			t.Fatal(err)
		}
		f.Clock.Advance(24 * time.Hour)
		if _, err := f.BillSvc.CancelBill(ctx, f.Bills[1].ID, nil, "finance"); err != nil {
			t.Fatal(err)
		}
		got, err := f.Reports.ItemProgress(ctx, f.Item.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := recomputed(t, db, f.Item.ID)
		if *got != want {
			t.Errorf("ItemProgress = %+v, want %+v (recomputed from the rows)", *got, want)
		}
		if got.PaidFen != 58000 || got.DueFen != 133000 || got.Payers() != 2 || got.Percent() != "43.60%" {
			t.Errorf("progress = paid %d of %d, %d payers, %s; want 58000 of 133000, 2 payers, 43.60%%", got.PaidFen, got.DueFen, got.Payers(), got.Percent())
		}
		days, err := f.Reports.ItemProgressDays(ctx, f.Item.ID, 90)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, d := range days {
			sum += d.AmountFen
		}
		if len(days) != 1 || sum != got.PaidFen || days[0].Lines != 2 {
			t.Errorf("days = %+v, want one day adding up to %d", days, got.PaidFen)
		}
		paid, _ := f.Svc.Order(ctx, o.OrderNo)
		if day := paid.PaidAt.In(bizday.Shanghai).Format("2006-01-02"); len(days) == 1 && days[0].Day != day {
			t.Errorf("day = %s, want %s", days[0].Day, day)
		}

		unpaid, n, err := f.Reports.UnpaidPayers(ctx, f.Item.ID, 0, 20)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 || len(unpaid) != 2 || unpaid[0].PayerNo != "20260002" || unpaid[0].OutstandingFen != 30000 {
			t.Errorf("unpaid = %d %+v, want the second payer's two bills", n, unpaid)
		}
		var buf bytes.Buffer
		if err := f.Reports.ExportUnpaid(ctx, f.Item, &buf); err != nil {
			t.Fatal(err)
		}
		x, err := excelize.OpenReader(&buf)
		if err != nil {
			t.Fatalf("export is not a workbook: %v", err)
		}
		rows, _ := x.GetRows(x.GetSheetList()[0])
		if len(rows) != 3 || rows[1][0] != "20260002" || rows[1][7] != "300.00" || rows[2][7] != "450.00" {
			t.Errorf("export rows = %v, want a header and the two unpaid bills", rows)
		}
	})
}
