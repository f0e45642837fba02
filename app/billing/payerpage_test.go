package billing_test

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

// SessionBills gives what OutstandingBills gives — the same bills, in the same order, with
// what the page shows of their items — together with the session and its user, and
// nothing for a session that is not there.
func TestSessionBillsAgreesWithOutstandingBills(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := billingtest.NewFixture(t, db)
		now := f.Clock.Now()
		// Deadlines out of order, one bill without, one paid in part, one paid (not listed).
		d1, d2 := time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)
		db.NewUpdate().Model((*store.Bill)(nil)).Set("due_date = ?", d1).Where("id = ?", f.Bills[0].ID).Exec(ctx)
		db.NewUpdate().Model((*store.Bill)(nil)).Set("due_date = ?", d2).Set("status = ?", store.BillPartial).Set("amount_paid_fen = 100").
			Where("id = ?", f.Bills[1].ID).Exec(ctx)
		paid := &store.Bill{BillNo: "B9", Source: "console", ItemID: f.Item.ID, PayerID: &f.Payer.ID, PayerType: "internal",
			PayerName: f.Payer.Name, AmountDueFen: 10, AmountPaidFen: 10, Status: store.BillPaid, CreatedAt: now, UpdatedAt: now}
		billingtest.Insert(t, db, paid)
		other := &store.Bill{BillNo: "B8", Source: "console", ItemID: f.Item.ID, PayerID: &f.Other.ID, PayerType: "internal",
			PayerName: f.Other.Name, AmountDueFen: 10, Status: store.BillUnpaid, CreatedAt: now, UpdatedAt: now}
		billingtest.Insert(t, db, other)

		const key = "k-payer"
		if err := store.SaveSession(ctx, db, key, f.Payer.ID, []byte("a=s1"), now.Add(time.Hour).Unix()); err != nil {
			t.Fatal(err)
		}
		rec, bills, err := f.Svc.SessionBills(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if rec == nil || rec.UserID != f.Payer.ID || rec.User == nil || rec.User.Login != f.Payer.Login || string(rec.Data) != "a=s1" {
			t.Fatalf("session = %+v, want the payer's", rec)
		}
		want, err := f.Svc.OutstandingBills(ctx, f.Payer.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(bills) != len(want) || len(bills) != 3 {
			t.Fatalf("SessionBills gave %d bills, OutstandingBills %d; want 3 each", len(bills), len(want))
		}
		for i := range want {
			g, w := bills[i], want[i]
			if g.ID != w.ID || g.AmountDueFen != w.AmountDueFen || g.AmountPaidFen != w.AmountPaidFen || g.Status != w.Status ||
				g.Item.Name != w.Item.Name || g.Item.MerchantID != w.Item.MerchantID || g.Item.Department.Name != w.Item.Department.Name ||
				(g.DueDate == nil) != (w.DueDate == nil) || (g.DueDate != nil && !g.DueDate.Equal(*w.DueDate)) {
				t.Errorf("bill %d: SessionBills %+v, OutstandingBills %+v", i, g, w)
			}
		}
		if bills[0].ID != f.Bills[1].ID || bills[1].ID != f.Bills[0].ID || bills[2].ID != f.Bills[2].ID {
			t.Errorf("order %d, %d, %d; want soonest deadline first and the bill without one last", bills[0].ID, bills[1].ID, bills[2].ID)
		}

		// A visitor's session: no user, no bills. No session: nothing.
		store.SaveSession(ctx, db, "k-guest", 0, nil, now.Add(time.Hour).Unix())
		if rec, bills, err := f.Svc.SessionBills(ctx, "k-guest"); err != nil || rec == nil || rec.User != nil || len(bills) != 0 {
			t.Errorf("visitor's session = %+v, %d bills, %v; want the session alone", rec, len(bills), err)
		}
		if rec, bills, err := f.Svc.SessionBills(ctx, "k-none"); err != nil || rec != nil || bills != nil {
			t.Errorf("no session = %+v, %v, %v; want nothing", rec, bills, err)
		}
		// An expired session is none.
		store.SaveSession(ctx, db, "k-old", f.Payer.ID, nil, now.Add(-time.Minute).Unix())
		if rec, bills, _ := f.Svc.SessionBills(ctx, "k-old"); rec != nil || bills != nil {
			t.Errorf("expired session = %+v with %d bills; want nothing", rec, len(bills))
		}
	})
}

// The page shows an item's name and department as the catalog cache has them: an item
// seen for the first time at once, an edit to one already seen within itemCatalogTTL.
// The bills' amounts are read with every page.
func TestSessionBillsItemNamesFollowEdits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := billingtest.NewFixture(t, db)
		clock := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
		billing.SetCatalogClock(f.Svc, func() time.Time { return clock })
		const key = "k-payer"
		if err := store.SaveSession(ctx, db, key, f.Payer.ID, nil, f.Clock.Now().Add(time.Hour).Unix()); err != nil {
			t.Fatal(err)
		}
		page := func() []*store.Bill {
			t.Helper()
			_, bills, err := f.Svc.SessionBills(ctx, key)
			if err != nil || len(bills) == 0 {
				t.Fatalf("SessionBills: %d bills, %v", len(bills), err)
			}
			return bills
		}
		first := page()
		if first[0].Item.Name != f.Item.Name || first[0].Item.Department.Name == "" {
			t.Fatalf("item shown as %q of %q, want %q of its department", first[0].Item.Name, first[0].Item.Department.Name, f.Item.Name)
		}

		// Renamed, and a bill paid in part: the amount shows at once, the name within the TTL.
		exec(t, db, "UPDATE charge_items SET name = ?, partial_allowed = ? WHERE id = ?", "2026学年学费（调整）", true, f.Item.ID)
		exec(t, db, "UPDATE bills SET amount_paid_fen = 100, status = ? WHERE id = ?", store.BillPartial, f.Bills[0].ID)
		clock = clock.Add(time.Second)
		b := billByID(page(), f.Bills[0].ID)
		if b.AmountPaidFen != 100 {
			t.Errorf("paid %d fen shown, want 100 at once", b.AmountPaidFen)
		}
		clock = clock.Add(10 * time.Second)
		b = billByID(page(), f.Bills[0].ID)
		if b.Item.Name != "2026学年学费（调整）" || !b.Item.PartialAllowed {
			t.Errorf("after the TTL the item shows as %q (part payment %v), want the edit", b.Item.Name, b.Item.PartialAllowed)
		}

		// A bill of an item no page has shown yet is named at once.
		item := &store.ChargeItem{Code: "DORM-2026", Name: "2026学年住宿费", DepartmentID: f.Item.DepartmentID, Category: "accommodation",
			Audience: f.Item.Audience, Pricing: f.Item.Pricing, Status: f.Item.Status, MerchantID: f.Item.MerchantID, CreatedAt: f.Clock.Now(), UpdatedAt: f.Clock.Now()}
		billingtest.Insert(t, db, item)
		dorm := &store.Bill{BillNo: "B-DORM", Source: "console", ItemID: item.ID, PayerID: &f.Payer.ID, PayerType: "internal",
			PayerName: f.Payer.Name, AmountDueFen: 120000, Status: store.BillUnpaid, CreatedAt: f.Clock.Now(), UpdatedAt: f.Clock.Now()}
		billingtest.Insert(t, db, dorm)
		if got := billByID(page(), dorm.ID); got.Item.Name != "2026学年住宿费" {
			t.Errorf("new item shown as %q, want 2026学年住宿费", got.Item.Name)
		}
	})
}

func billByID(bills []*store.Bill, id int64) *store.Bill {
	for _, b := range bills {
		if b.ID == id {
			return b
		}
	}
	return &store.Bill{Item: &store.ChargeItem{Department: &store.Department{}}}
}

func exec(t *testing.T, db *bun.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
