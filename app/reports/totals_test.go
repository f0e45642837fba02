package reports_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/store"
	"campuspay/store/storetest"
)

// TestItemTotalsEqualFreshSums moves money every way a bill's sums change — payments, a
// late payment that becomes an overpayment, a refund, a cancellation, a changed amount — and
// checks after each step that the maintained item totals (before and after the fold job)
// equal the bills added up afresh, and that a payment shows in Overview before any fold.
func TestItemTotalsEqualFreshSums(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		f.Clock.Set(time.Now()) // the fake company stamps payments with the real time
		var others []*store.Bill
		for i, amount := range []int64{30000, 45000} {
			b := &store.Bill{BillNo: "OT" + string(rune('1'+i)), Source: "console", ItemID: f.Item.ID, PayerID: &f.Other.ID,
				PayerType: "internal", PayerName: f.Other.Name, AmountDueFen: amount, Status: store.BillUnpaid, CreatedAt: f.Clock.Now(), UpdatedAt: f.Clock.Now()}
			billingtest.Insert(t, db, b)
			others = append(others, b)
		}
		check := func(step string) {
			t.Helper()
			for _, fold := range []bool{false, true} {
				if fold {
					if _, err := f.Reports.FoldItemTotals(ctx); err != nil {
						t.Fatalf("%s: fold: %v", step, err)
					}
					if n := billingtest.Count(t, db, "item_deltas"); n != 0 {
						t.Errorf("%s: %d deltas left after the fold, want 0", step, n)
					}
				}
				got, err := f.Reports.ItemProgress(ctx, f.Item.ID)
				if err != nil {
					t.Fatal(err)
				}
				if want := recomputed(t, db, f.Item.ID); *got != want {
					t.Errorf("%s (folded %v): ItemProgress = %+v, want %+v (recomputed from the rows)", step, fold, *got, want)
				}
				items, err := f.Reports.CollectionByItem(ctx, nil, 10)
				if err != nil {
					t.Fatal(err)
				}
				want := recomputed(t, db, f.Item.ID)
				if len(items) != 1 || items[0].ID != f.Item.ID || items[0].Bills != int64(want.Bills) || items[0].DueFen != want.DueFen ||
					items[0].PaidFen != want.PaidFen || items[0].OutstandingFen != want.OutstandingFen {
					t.Errorf("%s (folded %v): CollectionByItem = %+v, want %+v", step, fold, items, want)
				}
			}
		}
		check("bills made")

		// A payment is in the headline figures at once, before any fold.
		o := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID}, billing.LineRequest{BillID: f.Bills[2].ID})
		if _, err := f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(o, "SB-T1")); err != nil {
			t.Fatal(err)
		}
		ov, err := f.Reports.Overview(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ov.Today.CollectedFen != 58000 || ov.OutstandingFen != 120000+30000+45000 {
			t.Errorf("Overview right after a payment: today %d, outstanding %d; want 58000 and 195000", ov.Today.CollectedFen, ov.OutstandingFen)
		}
		if p, _ := f.Reports.ItemProgress(ctx, f.Item.ID); p == nil || p.PaidFen != 58000 {
			t.Errorf("ItemProgress right after a payment = %+v, want 58000 paid", p)
		}
		check("paid")

		// A late payment for a bill another order settled meanwhile: an overpayment.
		first := f.Order(t, billing.LineRequest{BillID: f.Bills[1].ID})
		f.Clock.Advance(20 * time.Minute)
		if _, err := f.Svc.ExpireOrders(ctx); err != nil {
			t.Fatal(err)
		}
		second := f.Order(t, billing.LineRequest{BillID: f.Bills[1].ID})
		if _, err := f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(second, "SB-T2")); err != nil {
			t.Fatal(err)
		}
		check("paid again")
		if out, err := f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(first, "SB-T3")); err != nil || out.OverpaidFen != 120000 {
			t.Fatalf("late payment = %+v, %v; want 120000 overpaid", out, err)
		}
		check("late payment")

		// A refund, and (whatever the fake company answers) a refunded amount on a bill.
		r, err := f.Svc.RequestRefund(ctx, billing.RefundRequest{BillID: f.Bills[0].ID, AmountFen: 20000, Reason: "退课", Actor: "finance1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Svc.ApproveRefund(ctx, r.ID, "finance2", ""); err != nil {
			t.Fatal(err)
		}
		check("refund")
		if _, err := db.NewUpdate().Model((*store.Bill)(nil)).Set("amount_refunded_fen = 8000, status = ?", store.BillRefunded).
			Where("id = ?", f.Bills[2].ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		check("refunded")

		// A cancelled bill leaves the sums; a changed amount moves them.
		if _, err := f.BillSvc.CancelBill(ctx, others[0].ID, nil, "finance"); err != nil {
			t.Fatal(err)
		}
		check("cancelled")
		if _, err := db.NewUpdate().Model((*store.Bill)(nil)).Set("amount_due_fen = 40000").Where("id = ?", others[1].ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		check("amount changed")
		if _, err := db.NewUpdate().Model((*store.Bill)(nil)).Set("amount_paid_fen = 10000, status = ?", store.BillPartial).
			Where("id = ?", others[1].ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		check("partly paid")
	})
}

// TestItemPayersFollowBills checks the maintained distinct payers of an item (roster payers
// by id, off-campus payers by phone) against a fresh count over the bills, before and after
// the fold, as bills are made, paid, cancelled, moved to another item or payer, and deleted.
func TestItemPayersFollowBills(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		other := &store.ChargeItem{Code: "BOOKS-2026", Name: "2026学年教材费", DepartmentID: f.Item.DepartmentID, Category: "other",
			Audience: store.AudienceInternal, Pricing: store.PricingPerBill, Status: store.ItemApproved, CreatedAt: f.Clock.Now(), UpdatedAt: f.Clock.Now()}
		billingtest.Insert(t, db, other)
		bill := func(no string, item int64, payer *int64, phone string) *store.Bill {
			b := &store.Bill{BillNo: no, Source: "console", ItemID: item, PayerID: payer, PayerType: "internal", PayerName: "某人",
				PayerPhone: phone, AmountDueFen: 10000, Status: store.BillUnpaid, CreatedAt: f.Clock.Now(), UpdatedAt: f.Clock.Now()}
			if payer == nil {
				b.PayerType = "external"
			}
			billingtest.Insert(t, db, b)
			return b
		}
		check := func(step string, internal, external int) {
			t.Helper()
			for _, fold := range []bool{false, true} {
				if fold {
					if _, err := f.Reports.FoldItemTotals(ctx); err != nil {
						t.Fatalf("%s: fold: %v", step, err)
					}
				}
				for _, item := range []int64{f.Item.ID, other.ID} {
					var want struct {
						Internal int `bun:"internal"`
						External int `bun:"external"`
					}
					err := db.NewSelect().TableExpr("bills").
						ColumnExpr("COUNT(DISTINCT payer_id) AS internal").
						ColumnExpr("COUNT(DISTINCT CASE WHEN payer_id IS NULL THEN payer_phone END) AS external").
						Where("item_id = ?", item).Where("status <> ?", store.BillCancelled).Scan(ctx, &want)
					if err != nil {
						t.Fatal(err)
					}
					got, err := f.Reports.ItemProgress(ctx, item)
					if err != nil {
						t.Fatal(err)
					}
					if got.InternalPayers != want.Internal || got.ExternalPayers != want.External {
						t.Errorf("%s (folded %v), item %d: payers %d + %d, the bills name %d + %d",
							step, fold, item, got.InternalPayers, got.ExternalPayers, want.Internal, want.External)
					}
					if item == f.Item.ID && (want.Internal != internal || want.External != external) {
						t.Fatalf("%s: the test expected %d + %d payers, the bills name %d + %d", step, internal, external, want.Internal, want.External)
					}
				}
			}
		}
		check("the fixture's bills", 1, 0)

		ext1 := bill("X1", f.Item.ID, nil, "13800000001")
		bill("X2", f.Item.ID, nil, "13800000001")
		mine := bill("O1", f.Item.ID, &f.Other.ID, "")
		check("two bills of one phone, one of another payer", 2, 1)

		o := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID})
		if _, err := f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(o, "SB-PAY")); err != nil {
			t.Fatal(err)
		}
		check("paid", 2, 1)

		if _, err := f.BillSvc.CancelBill(ctx, ext1.ID, nil, "finance"); err != nil {
			t.Fatal(err)
		}
		check("one of the phone's bills cancelled", 2, 1)
		if _, err := db.NewUpdate().Model((*store.Bill)(nil)).Set("item_id = ?", other.ID).Where("id = ?", mine.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		check("the other payer's only bill moved to another item", 1, 1)
		if _, err := db.NewUpdate().Model((*store.Bill)(nil)).Set("status = ?", store.BillUnpaid).Where("id = ?", ext1.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := db.NewUpdate().Model((*store.Bill)(nil)).Set("payer_id = ?, payer_phone = ''", f.Other.ID).Where("id = ?", ext1.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		check("a cancelled bill restored, then given to a roster payer", 2, 1)
		if _, err := db.NewDelete().Model((*store.Bill)(nil)).Where("bill_no = ?", "X2").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		check("the phone's last bill deleted", 2, 0)
	})
}
