package billing_test

import (
	"context"
	"errors"
	"testing"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/fault"
	"campuspay/store"
	"campuspay/store/storetest"
)

// closingChannel is the fake channel with a Close the test watches: onClose runs when the
// platform tells the channel to close a trade, and closeErr is what the channel answers.
type closingChannel struct {
	*billingtest.FakeChannel
	onClose  func(orderNo string)
	closeErr error
}

func (c *closingChannel) Close(ctx context.Context, orderNo string) error {
	if c.onClose != nil {
		c.onClose(orderNo)
	}
	if c.closeErr != nil {
		return c.closeErr
	}
	return c.FakeChannel.Close(ctx, orderNo)
}

func orderStatus(t *testing.T, db bun.IDB, orderNo string) store.OrderStatus {
	t.Helper()
	o := new(store.Order)
	if err := db.NewSelect().Model(o).Column("status").Where("order_no = ?", orderNo).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return o.Status
}

// TestCancelOrderClosesTradeFirstThenReleasesBills: a payer cancels an open order; the
// channel is told while the order is still open and its bills still held, then the bills
// are free at once (another order may take them), and money the channel still sends is a
// late payment of the cancelled order.
func TestCancelOrderClosesTradeFirstThenReleasesBills(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		ch := &closingChannel{FakeChannel: f.Fake}
		f.Svc.Channels["sandbox"] = ch
		o := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID}, billing.LineRequest{BillID: f.Bills[2].ID})

		var atClose []string
		ch.onClose = func(no string) {
			b := f.Bill(t, f.Bills[0].ID)
			held := b.HeldByOrderID != nil && *b.HeldByOrderID == o.ID
			atClose = append(atClose, string(orderStatus(t, db, no)))
			if !held {
				atClose = append(atClose, "bill released")
			}
		}
		got, err := f.Svc.CancelOrder(ctx, o.OrderNo, f.Payer.Login)
		if err != nil {
			t.Fatalf("CancelOrder: %v", err)
		}
		if len(atClose) != 1 || atClose[0] != string(store.OrderOpen) {
			t.Fatalf("when the channel was told to close: %v, want the order still open with its bills held", atClose)
		}
		if got.Status != store.OrderClosed || got.ClosedAt == nil {
			t.Errorf("cancelled order = %s (closed at %v), want closed", got.Status, got.ClosedAt)
		}
		for _, i := range []int{0, 2} {
			if b := f.Bill(t, f.Bills[i].ID); b.HeldByOrderID != nil || b.HeldUntil != nil || b.Status != store.BillUnpaid {
				t.Errorf("bill %d after cancel: held by %v until %v, status %s; want released and unpaid", i, b.HeldByOrderID, b.HeldUntil, b.Status)
			}
		}
		var audit []store.AuditLog
		if err := db.NewSelect().Model(&audit).Where("target_id = ?", o.OrderNo).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(audit) != 1 || audit[0].Action != "order.cancelled" || audit[0].Actor != f.Payer.Login {
			t.Errorf("audit = %+v, want one order.cancelled by %s", audit, f.Payer.Login)
		}

		// The money comes after all: recorded as late, credited as the bills are still due.
		out, err := f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(o, "SB-AFTER-CANCEL"))
		if err != nil {
			t.Fatal(err)
		}
		if !out.Late || out.CreditedFen != 58000 || out.OverpaidFen != 0 {
			t.Errorf("payment after cancel = %+v, want late with 58000 credited", out)
		}
		if s := orderStatus(t, db, o.OrderNo); s != store.OrderPaid {
			t.Errorf("order after the late payment = %s, want paid (closed → paid)", s)
		}
	})
}

// TestCancelledOrderBillsCanBeOrderedAgainAtOnce: the bills of a cancelled order are not
// stuck until the order would have expired.
func TestCancelledOrderBillsCanBeOrderedAgainAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		o := f.Order(t, billing.LineRequest{BillID: f.Bills[1].ID})
		if _, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Lines: []billing.LineRequest{{BillID: f.Bills[1].ID}}, Channel: "campuscard"}); err == nil {
			t.Fatal("a second order on a held bill was accepted before the cancel")
		}
		if _, err := f.Svc.CancelOrder(ctx, o.OrderNo, f.Payer.Login); err != nil {
			t.Fatal(err)
		}
		again, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Lines: []billing.LineRequest{{BillID: f.Bills[1].ID}}, Channel: "campuscard"})
		if err != nil {
			t.Fatalf("order again right after the cancel: %v", err)
		}
		if again.TotalFen != 120000 {
			t.Errorf("new order total = %d, want 120000", again.TotalFen)
		}
	})
}

// TestCancelOrderRefusedWhenChannelCannotClose: a channel that does not confirm the close
// leaves everything as it was, and the payer is told.
func TestCancelOrderRefusedWhenChannelCannotClose(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		f.Svc.Channels["sandbox"] = &closingChannel{FakeChannel: f.Fake, closeErr: errors.New("gateway timeout")}
		o := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID})
		_, err := f.Svc.CancelOrder(ctx, o.OrderNo, f.Payer.Login)
		var be *fault.Error
		if !errors.As(err, &be) || be.Code != "channel_close_failed" || !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("CancelOrder with the channel failing = %v, want a channel_close_failed conflict", err)
		}
		if s := orderStatus(t, db, o.OrderNo); s != store.OrderOpen {
			t.Errorf("order = %s, want still open", s)
		}
		if b := f.Bill(t, f.Bills[0].ID); b.HeldByOrderID == nil || *b.HeldByOrderID != o.ID {
			t.Errorf("bill held by %v, want still held by the order %d", b.HeldByOrderID, o.ID)
		}
	})
}

// TestCancelOrderPaidAtChannelIsAppliedNotCancelled: the payer paid a moment before
// cancelling; the payment wins.
func TestCancelOrderPaidAtChannelIsAppliedNotCancelled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		o := f.Order(t, billing.LineRequest{BillID: f.Bills[2].ID})
		f.Fake.Paid(o, "SB-BEFORE-CANCEL")
		got, err := f.Svc.CancelOrder(ctx, o.OrderNo, f.Payer.Login)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.OrderPaid {
			t.Errorf("order = %s, want paid", got.Status)
		}
		if b := f.Bill(t, f.Bills[2].ID); b.Status != store.BillPaid {
			t.Errorf("bill = %s, want paid", b.Status)
		}
		if len(f.Fake.Closed) != 0 {
			t.Errorf("channel told to close %v, want nothing closed for a paid order", f.Fake.Closed)
		}
	})
}

// TestSwitchOrderChannelReordersSameBills: switching an open order from the sandbox to the
// campus card closes the sandbox trade and the old order, and opens a new order for the
// same bills and amounts on the card.
func TestSwitchOrderChannelReordersSameBills(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		o := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID}, billing.LineRequest{BillID: f.Bills[2].ID})

		if _, err := f.Svc.SwitchOrderChannel(ctx, o.OrderNo, f.Payer.Login, "wechat"); err == nil {
			t.Fatal("switch to a channel that does not exist was accepted")
		}
		if s := orderStatus(t, db, o.OrderNo); s != store.OrderOpen {
			t.Fatalf("order after a refused switch = %s, want still open", s)
		}

		next, err := f.Svc.SwitchOrderChannel(ctx, o.OrderNo, f.Payer.Login, "campuscard")
		if err != nil {
			t.Fatalf("switch: %v", err)
		}
		if next.OrderNo == o.OrderNo || next.Channel != "campuscard" || next.Status != store.OrderOpen || next.TotalFen != o.TotalFen {
			t.Errorf("new order = %s on %s, %s, %d fen; want another open campus card order of %d fen", next.OrderNo, next.Channel, next.Status, next.TotalFen, o.TotalFen)
		}
		if s := orderStatus(t, db, o.OrderNo); s != store.OrderClosed {
			t.Errorf("old order = %s, want closed", s)
		}
		if len(f.Fake.Closed) != 1 || f.Fake.Closed[0] != o.OrderNo {
			t.Errorf("sandbox closed %v, want the old order", f.Fake.Closed)
		}
		for _, i := range []int{0, 2} {
			if b := f.Bill(t, f.Bills[i].ID); b.HeldByOrderID == nil || *b.HeldByOrderID != next.ID {
				t.Errorf("bill %d held by %v, want the new order %d", i, b.HeldByOrderID, next.ID)
			}
		}
		if _, err := f.Svc.SwitchOrderChannel(ctx, next.OrderNo, f.Payer.Login, "campuscard"); err == nil {
			t.Error("switch to the channel the order already uses was accepted")
		}
	})
}
