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

// creditOnce returns a hook for SetAfterBillsRead that, the first time CreateOrder has read
// the bills, credits bill id with paidFen and gives it status — what an offline import or a
// late payment committing at that moment leaves behind.
func creditOnce(t *testing.T, id, paidFen int64, status store.BillStatus) func(context.Context, bun.Tx) {
	done := false
	return func(ctx context.Context, tx bun.Tx) {
		if done {
			return
		}
		done = true
		if _, err := tx.NewUpdate().Model((*store.Bill)(nil)).
			Set("amount_paid_fen = amount_paid_fen + ?", paidFen).Set("status = ?", status).Set("version = version + 1").
			Where("id = ?", id).Exec(ctx); err != nil {
			t.Errorf("credit between read and hold: %v", err)
		}
	}
}

func TestOrderIsRefusedWhenTheBillIsCreditedBetweenReadAndHold(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		db.NewUpdate().Model((*store.ChargeItem)(nil)).Set("partial_allowed = ?", true).Where("id = ?", f.Item.ID).Exec(ctx)
		// 500.00 due when read; 200.00 credited before the hold: an order for 500.00 would
		// take 200.00 too much.
		billing.SetAfterBillsRead(f.Svc, creditOnce(t, f.Bills[0].ID, 20000, store.BillPartial))
		o, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox",
			Lines: []billing.LineRequest{{BillID: f.Bills[0].ID}, {BillID: f.Bills[2].ID}}})
		if !errors.Is(err, fault.ErrConflict) || !strings.Contains(fault.Message(err, ""), "应缴金额刚刚发生变化") {
			t.Fatalf("CreateOrder = %+v, %v; want refused: the amount changed", o, err)
		}
		if n := billingtest.Count(t, db, "orders"); n != 0 {
			t.Errorf("orders = %d, want 0", n)
		}
		for _, i := range []int{0, 2} {
			if b := f.Bill(t, f.Bills[i].ID); b.HeldByOrderID != nil {
				t.Errorf("bill %d held by %d, want free", i, *b.HeldByOrderID)
			}
		}
		// Ordered again, it is priced from what is due now.
		billing.SetAfterBillsRead(f.Svc, nil)
		db.NewUpdate().Model((*store.Bill)(nil)).Set("amount_paid_fen = 20000").Set("status = ?", store.BillPartial).
			Set("version = version + 1").Where("id = ?", f.Bills[0].ID).Exec(ctx)
		o = f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID})
		if o.TotalFen != 30000 {
			t.Errorf("order again = %d fen, want 30000", o.TotalFen)
		}
	})
}

func TestHoldRefusedForABillJustPaidSaysSo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		billing.SetAfterBillsRead(f.Svc, creditOnce(t, f.Bills[0].ID, 50000, store.BillPaid))
		_, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox",
			Lines: []billing.LineRequest{{BillID: f.Bills[0].ID}}})
		if !errors.Is(err, fault.ErrConflict) || !strings.Contains(fault.Message(err, ""), "该款项刚刚已缴清") {
			t.Fatalf("CreateOrder on a bill paid a moment ago = %v, want 该款项刚刚已缴清", err)
		}
		if n := billingtest.Count(t, db, "orders"); n != 0 {
			t.Errorf("orders = %d, want 0", n)
		}
		if b := f.Bill(t, f.Bills[0].ID); b.HeldByOrderID != nil {
			t.Errorf("paid bill held by %v, want nil", *b.HeldByOrderID)
		}
	})
}

func TestHoldRefusedForABillInAnotherOrderSaysSo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID})
		// The second order reads the bill free and finds it held when it holds: as if the
		// first order had been made between the two.
		_, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox",
			Lines: []billing.LineRequest{{BillID: f.Bills[2].ID}, {BillID: f.Bills[0].ID}}})
		if !errors.Is(err, fault.ErrConflict) || !strings.Contains(fault.Message(err, ""), "有款项正在另一笔订单中支付") {
			t.Fatalf("CreateOrder on a held bill = %v, want 有款项正在另一笔订单中支付", err)
		}
	})
}

func TestCardIsNotDebitedForABillALatePaymentJustSettled(t *testing.T) {
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
		// The payer had paid the first order at the channel after all: its late payment
		// settles the bill while the card order is open.
		if out, err := f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(online, "SB-LATE")); err != nil || !out.Late || out.CreditedFen != 50000 {
			t.Fatalf("late payment = %+v, %v", out, err)
		}
		_, _, err = f.Svc.StartPayment(ctx, card.OrderNo, "20260001", "123456")
		if !errors.Is(err, fault.ErrConflict) || !strings.Contains(fault.Message(err, ""), "该款项刚刚已缴清") {
			t.Fatalf("StartPayment = %v, want refused: 该款项刚刚已缴清", err)
		}
		if _, charged := f.Card.Trades[card.OrderNo]; charged {
			t.Error("the campus card was debited")
		}
		if n := billingtest.Count(t, db, "payments"); n != 1 {
			t.Errorf("payments = %d, want 1 (the late one only)", n)
		}
		if n := billingtest.Count(t, db, "overpayments"); n != 0 {
			t.Errorf("overpayments = %d, want 0", n)
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
