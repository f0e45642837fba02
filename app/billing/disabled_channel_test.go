package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/settings"
	"campuspay/store"
	"campuspay/store/storetest"
)

// disable turns the sandbox off in the settings, leaving the campus card on, as finance
// does when a channel is withdrawn.
func disableSandbox(t *testing.T, f *billingtest.Fixture) {
	t.Helper()
	if _, err := f.Svc.Settings.Set(context.Background(), settings.ChannelsEnabled, "campuscard", "admin"); err != nil {
		t.Fatal(err)
	}
}

func withSettings(t *testing.T, f *billingtest.Fixture) {
	t.Helper()
	f.Svc.Settings = settings.New(f.DB)
	if _, err := f.Svc.Settings.Set(context.Background(), settings.ChannelsEnabled, "sandbox,campuscard", "admin"); err != nil {
		t.Fatal(err)
	}
}

// Disabling a channel stops new payments only: an order already open on it is still
// closed when it expires (its bills released), and the payer's return still asks the
// channel about it.
func TestDisabledChannelStillClosesItsOpenOrders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		withSettings(t, f)
		ctx := context.Background()
		open := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID})
		paidThere := f.Order(t, billing.LineRequest{BillID: f.Bills[1].ID})
		f.Fake.Paid(paidThere, "SB-LATE")
		disableSandbox(t, f)

		if _, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox",
			Lines: []billing.LineRequest{{BillID: f.Bills[2].ID}}}); err == nil {
			t.Error("new order on the disabled sandbox accepted, want refused")
		}
		// The payer comes back from the channel's page: the payment made there is applied.
		got, err := f.Svc.SyncOrder(ctx, paidThere.OrderNo)
		if err != nil || got.Status != store.OrderPaid {
			t.Fatalf("return to a disabled channel's paid order: %v, %v; want it paid", got, err)
		}

		f.Clock.Advance(time.Hour)
		if _, err := f.Svc.ExpireOrders(ctx); err != nil {
			t.Fatalf("ExpireOrders: %v", err)
		}
		o, err := f.Svc.Order(ctx, open.OrderNo)
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != store.OrderClosed {
			t.Errorf("expired order on the disabled sandbox: status %s, want closed", o.Status)
		}
		if b := f.Bill(t, f.Bills[0].ID); b.HeldByOrderID != nil {
			t.Errorf("bill still held by order %d after expiry", *b.HeldByOrderID)
		}
		if !contains(f.Fake.Closed, open.OrderNo) {
			t.Errorf("channel not told to close %s (closed: %v)", open.OrderNo, f.Fake.Closed)
		}
	})
}

// An approved refund of a disabled channel still runs and settles.
func TestDisabledChannelStillRefunds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newRefundFixture(t, db)
		withSettings(t, f.Fixture)
		f.pay(t, 0, 0, "SB-1")
		r := f.request(t, 0, 20000, "dept1")
		disableSandbox(t, f.Fixture)

		got, err := f.Svc.ApproveRefund(context.Background(), r.ID, "finance", "同意")
		if err != nil {
			t.Fatalf("approve refund of a disabled channel: %v", err)
		}
		if got.Status != store.RefundSucceeded {
			t.Errorf("refund status %s, want succeeded", got.Status)
		}
		if f.ch.refunded[r.RefundNo] != 20000 {
			t.Errorf("channel refunded %d, want 20000", f.ch.refunded[r.RefundNo])
		}
		if b := f.Bill(t, f.Bills[0].ID); b.AmountRefundedFen != 20000 {
			t.Errorf("bill refunded %d, want 20000", b.AmountRefundedFen)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
