package billing_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/fault"
	"campuspay/store"
	"campuspay/store/storetest"
)

// The cashier pays an order the moment it is made, with the order CreateOrder returned
// (PayOrder): the channel shows the payer the same subject as for an order read back, and
// the attempt, the hold and the pay address are what they are after Pay.
func TestOrderPaidAsMadeIsPaidAsIfReadBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		two := []billing.LineRequest{{BillID: f.Bills[0].ID}, {BillID: f.Bills[1].ID}}
		made, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox", Lines: two})
		if err != nil {
			t.Fatal(err)
		}
		o, attempt, res, err := f.Svc.PayOrder(ctx, made, billing.PayArgs{})
		if err != nil {
			t.Fatal(err)
		}
		if res.QRContent != "https://pay.example/"+made.OrderNo || attempt.AttemptNo != made.OrderNo || attempt.AmountFen != 170000 {
			t.Errorf("PayOrder = %q, attempt %s of %d; want the fake's page for %s, 170000", res.QRContent, attempt.AttemptNo, attempt.AmountFen, made.OrderNo)
		}
		got, err := f.Svc.Order(ctx, made.OrderNo)
		if err != nil {
			t.Fatal(err)
		}
		if got.PayURL != res.QRContent || o.PayURL != got.PayURL || got.Status != store.OrderOpen {
			t.Errorf("order = %s pay_url %q (returned %q), want open with the fake's page", got.Status, got.PayURL, o.PayURL)
		}
		for _, b := range two {
			if bill := f.Bill(t, b.BillID); bill.HeldByOrderID == nil || *bill.HeldByOrderID != made.ID {
				t.Errorf("bill %d held by %v, want order %d", b.BillID, bill.HeldByOrderID, made.ID)
			}
		}
		// The same order read back and paid again: the same attempt, no new trade asked for.
		if _, again, _, err := f.Svc.Pay(ctx, made.OrderNo, billing.PayArgs{}); err != nil || again.ID != attempt.ID {
			t.Errorf("Pay again = %v, %v; want attempt %d reused", again, err, attempt.ID)
		}
		one, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox",
			Lines: []billing.LineRequest{{BillID: f.Bills[2].ID}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.Svc.StartPayment(ctx, one.OrderNo, "", ""); err != nil {
			t.Fatal(err)
		}
		want := []string{f.Item.Name + "等2项", f.Item.Name}
		if strings.Join(f.Fake.Subjects, "|") != strings.Join(want, "|") {
			t.Errorf("subjects at the channel = %q, want %q", f.Fake.Subjects, want)
		}
	})
}

// An order made to be paid at once carries its first attempt, recorded with it: paying it
// asks the channel for that attempt (numbered as the order) and makes no other, and the
// money credits the bills. A way the channel does not have makes nothing.
func TestOrderMadeToPayCarriesItsFirstAttempt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		way := f.Svc.Capabilities("sandbox").Ways[0]
		two := []billing.LineRequest{{BillID: f.Bills[0].ID}, {BillID: f.Bills[1].ID}}
		if _, _, err := f.Svc.CreateOrderToPay(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox", Lines: two}, "no-such-way"); !errors.Is(err, fault.ErrInvalid) {
			t.Fatalf("CreateOrderToPay by a way the channel lacks: %v, want invalid", err)
		}
		if n := billingtest.Count(t, db, "orders"); n != 0 {
			t.Fatalf("%d orders after a refused one, want 0", n)
		}
		made, first, err := f.Svc.CreateOrderToPay(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox", Lines: two}, way)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil || first.AttemptNo != made.OrderNo || first.Seq != 1 || first.AmountFen != made.TotalFen || first.Way != string(way) {
			t.Fatalf("attempt made with the order = %+v, want seq 1 numbered %s for %d by %s", first, made.OrderNo, made.TotalFen, way)
		}
		o, attempt, res, err := f.Svc.PayOrder(ctx, made, billing.PayArgs{Channel: "sandbox", Way: way, Attempt: first})
		if err != nil {
			t.Fatal(err)
		}
		if attempt.ID != first.ID || res.QRContent != "https://pay.example/"+made.OrderNo || o.PayURL != res.QRContent {
			t.Errorf("PayOrder = attempt %d, %q, order pay_url %q; want attempt %d with the fake's page for %s", attempt.ID, res.QRContent, o.PayURL, first.ID, made.OrderNo)
		}
		if n := billingtest.Count(t, db, "payment_attempts"); n != 1 {
			t.Errorf("%d attempts, want the one made with the order", n)
		}
		if _, err := f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(made, "T-MADE-1")); err != nil {
			t.Fatal(err)
		}
		for _, l := range two {
			if b := f.Bill(t, l.BillID); b.Status != store.BillPaid || b.AmountPaidFen != b.AmountDueFen {
				t.Errorf("bill %d = %s, paid %d of %d; want paid in full", b.ID, b.Status, b.AmountPaidFen, b.AmountDueFen)
			}
		}
	})
}

// A bill settled by a late payment between the order being made and paid is caught when the
// order is paid as made, as when it is read back: the order is closed and nothing charged.
func TestOrderPaidAsMadeIsRefusedForABillJustSettled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		online := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID})
		if _, err := f.Svc.CloseOrder(ctx, online.OrderNo, "payer"); err != nil {
			t.Fatal(err)
		}
		card, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: "campuscard",
			Lines: []billing.LineRequest{{BillID: f.Bills[0].ID}}})
		if err != nil {
			t.Fatal(err)
		}
		if out, err := f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(online, "SB-LATE")); err != nil || !out.Late {
			t.Fatalf("late payment = %+v, %v", out, err)
		}
		_, _, _, err = f.Svc.PayOrder(ctx, card, billing.PayArgs{PayerNo: "20260001", Password: "123456"})
		if !errors.Is(err, fault.ErrConflict) || !strings.Contains(fault.Message(err, ""), "该款项刚刚已缴清") {
			t.Fatalf("PayOrder = %v, want refused: 该款项刚刚已缴清", err)
		}
		if _, charged := f.Card.Trades[card.OrderNo]; charged {
			t.Error("the campus card was debited")
		}
		if n := billingtest.Count(t, db, "payment_attempts"); n != 0 {
			t.Errorf("attempts = %d, want none made for the stale order", n)
		}
		got, _ := f.Svc.Order(ctx, card.OrderNo)
		if got.Status != store.OrderClosed {
			t.Errorf("card order = %s, want closed", got.Status)
		}
		if b := f.Bill(t, f.Bills[0].ID); b.Status != store.BillPaid || b.AmountPaidFen != 50000 || b.HeldByOrderID != nil {
			t.Errorf("bill = %s paid %d held %v, want paid once and free", b.Status, b.AmountPaidFen, b.HeldByOrderID)
		}
	})
}

// Bills whose items collect into two merchants make no order (the payer is told how many),
// and bills of one merchant other than the school's make an order into that merchant.
func TestCreateOrderCollectsIntoTheItemsMerchant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		now := f.Clock.Now()
		m := &store.Merchant{Name: "继续教育学院", CreatedAt: now, UpdatedAt: now}
		billingtest.Insert(t, db, m)
		item := *f.Item
		item.ID, item.Code, item.Name, item.MerchantID = 0, "TRAIN-2026", "培训费", m.ID
		billingtest.Insert(t, db, &item)
		b := &store.Bill{BillNo: "B-OTHER", Source: "console", ItemID: item.ID, PayerID: &f.Payer.ID,
			PayerType: "internal", PayerName: f.Payer.Name, AmountDueFen: 30000, Status: store.BillUnpaid, CreatedAt: now, UpdatedAt: now}
		billingtest.Insert(t, db, b)

		_, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox",
			Lines: []billing.LineRequest{{BillID: f.Bills[0].ID}, {BillID: b.ID}}})
		if !errors.Is(err, fault.ErrInvalid) || !strings.Contains(fault.Message(err, ""), "分属 2 个收款单位") {
			t.Fatalf("CreateOrder across two merchants = %v, want refused: 分属 2 个收款单位", err)
		}
		if n := billingtest.Count(t, db, "orders"); n != 0 {
			t.Errorf("orders = %d, want none", n)
		}
		o, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox",
			Lines: []billing.LineRequest{{BillID: b.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		if o.MerchantID != m.ID || o.TotalFen != 30000 || len(o.Lines) != 1 || o.Lines[0].Bill.Item.Name != "培训费" {
			t.Errorf("order = merchant %d total %d, want merchant %d, 30000 for 培训费", o.MerchantID, o.TotalFen, m.ID)
		}
		if got, _ := f.Svc.Order(ctx, o.OrderNo); got.MerchantID != m.ID {
			t.Errorf("stored order's merchant = %d, want %d", got.MerchantID, m.ID)
		}
	})
}
