package billing_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/channel"
	"campuspay/app/fault"
	"campuspay/store"
	"campuspay/store/storetest"
)

func TestPayTwoBillsCreditsBothAndIssuesReceipts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		o := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID}, billing.LineRequest{BillID: f.Bills[2].ID})
		if o.TotalFen != 58000 {
			t.Fatalf("TotalFen = %d, want 58000", o.TotalFen)
		}
		out, err := f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(o, "SB1"))
		if err != nil {
			t.Fatal(err)
		}
		if out.CreditedFen != 58000 || out.OverpaidFen != 0 || out.Receipts != 2 {
			t.Errorf("Outcome = %+v, want 58000 credited on 2 receipts", out)
		}
		for _, i := range []int{0, 2} {
			b := f.Bill(t, f.Bills[i].ID)
			if b.Status != store.BillPaid || b.AmountPaidFen != b.AmountDueFen || b.HeldByOrderID != nil {
				t.Errorf("bill %d = %s paid %d held %v, want paid in full and released", i, b.Status, b.AmountPaidFen, b.HeldByOrderID)
			}
		}
		if b := f.Bill(t, f.Bills[1].ID); b.Status != store.BillUnpaid {
			t.Errorf("untouched bill status = %s, want unpaid", b.Status)
		}
		got, _ := f.Svc.Order(ctx, o.OrderNo)
		if got.Status != store.OrderPaid {
			t.Errorf("order status = %s, want paid", got.Status)
		}
		rs, _ := f.Svc.OrderReceipts(ctx, o.ID)
		if len(rs) != 2 || rs[0].ReceiptNo != "202600000001" || rs[1].ReceiptNo != "202600000002" {
			t.Errorf("receipts = %v, want 202600000001 and 202600000002", rs)
		}
	})
}

func TestFiftyConcurrentCopiesOfOneNotificationCreditOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		o := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID}, billing.LineRequest{BillID: f.Bills[1].ID})
		f.Fake.Paid(o, "SB-DUP")
		body := []byte(o.OrderNo + ",SB-DUP," + strconv.FormatInt(o.TotalFen, 10))
		h := http.Header{"X-Fake-Sign": {"ok"}}
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, ack, err := f.Svc.HandleNotification(ctx, "sandbox", h, body, "127.0.0.1")
				if err == nil && string(ack) != "success" {
					err = errors.New("ack = " + string(ack))
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("notification: %v", err)
			}
		}
		if n := billingtest.Count(t, db, "payments"); n != 1 {
			t.Errorf("payments = %d, want 1", n)
		}
		if n := billingtest.Count(t, db, "receipts"); n != 2 {
			t.Errorf("receipts = %d, want 2", n)
		}
		for _, i := range []int{0, 1} {
			if b := f.Bill(t, f.Bills[i].ID); b.AmountPaidFen != b.AmountDueFen {
				t.Errorf("bill %d paid %d, want %d (credited exactly once)", i, b.AmountPaidFen, b.AmountDueFen)
			}
		}
		applied, _ := db.NewSelect().Table("notifications").Where("outcome = 'applied'").Count(ctx)
		dup, _ := db.NewSelect().Table("notifications").Where("outcome = 'duplicate'").Count(ctx)
		if applied != 1 || dup != 49 {
			t.Errorf("notifications applied %d, duplicate %d; want 1 and 49, all kept raw", applied, dup)
		}
	})
}

func TestForgedOrWrongNotificationsChangeNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		o := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID})
		tests := []struct {
			name string
			sign string
			body string
		}{
			{"bad signature", "forged", o.OrderNo + ",SB9,50000"},
			{"malformed", "ok", "garbage"},
			{"amount differs", "ok", o.OrderNo + ",SB9,40000"},
			{"unknown order", "ok", "P2026000000000000000,SB9,50000"},
		}
		for _, tt := range tests {
			_, _, err := f.Svc.HandleNotification(ctx, "sandbox", http.Header{"X-Fake-Sign": {tt.sign}}, []byte(tt.body), "10.0.0.1")
			if err == nil {
				t.Errorf("%s: accepted, want rejected", tt.name)
			}
		}
		if n := billingtest.Count(t, db, "payments"); n != 0 {
			t.Errorf("payments = %d, want 0", n)
		}
		if b := f.Bill(t, f.Bills[0].ID); b.AmountPaidFen != 0 {
			t.Errorf("bill paid %d, want 0", b.AmountPaidFen)
		}
		if n, _ := db.NewSelect().Table("notifications").Where("outcome = 'rejected'").Count(ctx); int(n) != len(tests) {
			t.Errorf("rejected notifications kept = %d, want %d", n, len(tests))
		}
	})
}

func TestTwoConcurrentOrdersOnOneBillOneWins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		var wg sync.WaitGroup
		results := make(chan error, 2)
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox",
					Lines: []billing.LineRequest{{BillID: f.Bills[1].ID}}})
				results <- err
			}()
		}
		wg.Wait()
		close(results)
		var won, conflicts int
		for err := range results {
			switch {
			case err == nil:
				won++
			case errors.Is(err, fault.ErrConflict):
				conflicts++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if won != 1 || conflicts != 1 {
			t.Errorf("won %d, conflicts %d; want exactly one of each", won, conflicts)
		}
		if n, _ := db.NewSelect().Table("orders").Count(ctx); n != 1 {
			t.Errorf("orders = %d, want 1 (the loser wrote nothing)", n)
		}
	})
}

func TestExpiredOrderReleasesBillsAndLatePaymentIsKept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		first := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID})
		f.Clock.Advance(16 * time.Minute) // past the default 15-minute timeout
		if n, err := f.Svc.ExpireOrders(ctx); err != nil || n != 1 {
			t.Fatalf("ExpireOrders = %d, %v; want 1 closed", n, err)
		}
		if got, _ := f.Svc.Order(ctx, first.OrderNo); got.Status != store.OrderClosed {
			t.Fatalf("expired order status = %s, want closed", got.Status)
		}
		if b := f.Bill(t, f.Bills[0].ID); b.HeldByOrderID != nil {
			t.Fatalf("bill still held by %d after expiry", *b.HeldByOrderID)
		}
		if len(f.Fake.Closed) != 1 {
			t.Errorf("channel told to close %d orders, want 1", len(f.Fake.Closed))
		}

		// The money arrives after all: the bill is still due, so it is credited.
		out, err := f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(first, "SB-LATE"))
		if err != nil {
			t.Fatal(err)
		}
		if !out.Late || out.CreditedFen != 50000 || out.OverpaidFen != 0 {
			t.Errorf("late outcome = %+v, want late, 50000 credited", out)
		}
		if b := f.Bill(t, f.Bills[0].ID); b.Status != store.BillPaid {
			t.Errorf("bill status = %s, want paid", b.Status)
		}
		if got, _ := f.Svc.Order(ctx, first.OrderNo); got.Status != store.OrderPaid {
			t.Errorf("order status = %s, want paid (closed → paid by a late payment)", got.Status)
		}
	})
}

func TestLatePaymentForSettledBillBecomesOverpayment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		first := f.Order(t, billing.LineRequest{BillID: f.Bills[2].ID})
		f.Clock.Advance(20 * time.Minute)
		if _, err := f.Svc.ExpireOrders(ctx); err != nil {
			t.Fatal(err)
		}
		second := f.Order(t, billing.LineRequest{BillID: f.Bills[2].ID})
		if _, err := f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(second, "SB-2")); err != nil {
			t.Fatal(err)
		}
		out, err := f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(first, "SB-1"))
		if err != nil {
			t.Fatal(err)
		}
		if out.CreditedFen != 0 || out.OverpaidFen != 8000 {
			t.Errorf("outcome = %+v, want nothing credited and 8000 overpaid", out)
		}
		b := f.Bill(t, f.Bills[2].ID)
		if b.AmountPaidFen != 8000 {
			t.Errorf("bill paid %d, want 8000 (never credited twice)", b.AmountPaidFen)
		}
		var over []store.Overpayment
		db.NewSelect().Model(&over).Scan(ctx)
		if len(over) != 1 || over[0].AmountFen != 8000 || over[0].Status != "open" || over[0].BillID == nil || *over[0].BillID != b.ID {
			t.Errorf("overpayments = %+v, want one open 8000 on the bill", over)
		}
		if n := billingtest.Count(t, db, "payments"); n != 2 {
			t.Errorf("payments = %d, want 2 (the late one is recorded, not lost)", n)
		}
	})
}

func TestSyncOrderAppliesWhatTheChannelHas(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		o := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID})
		if got, err := f.Svc.SyncOrder(ctx, o.OrderNo); err != nil || got.Status != store.OrderOpen {
			t.Fatalf("SyncOrder before payment = %v, %v; want open", got.Status, err)
		}
		f.Fake.Paid(o, "SB-Q") // paid at the channel; the notification was lost
		f.Clock.Advance(2 * time.Minute)
		if n, err := f.Svc.SyncOpenOrders(ctx); err != nil || n != 1 {
			t.Fatalf("SyncOpenOrders = %d, %v; want 1 paid", n, err)
		}
		if b := f.Bill(t, f.Bills[0].ID); b.Status != store.BillPaid {
			t.Errorf("bill status = %s, want paid", b.Status)
		}
	})
}

func TestDeclinedCardChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		o, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: "campuscard",
			Lines: []billing.LineRequest{{BillID: f.Bills[0].ID}}})
		if err != nil {
			t.Fatal(err)
		}
		f.Card.Declined = &channel.Declined{Code: "wrong_password", Message: "校园卡密码错误"}
		_, _, err = f.Svc.StartPayment(ctx, o.OrderNo, "20260001", "000000")
		if !errors.Is(err, fault.ErrInvalid) || fault.Message(err, "") != "校园卡密码错误" {
			t.Fatalf("StartPayment = %v, want the card's message", err)
		}
		if got, _ := f.Svc.Order(ctx, o.OrderNo); got.Status != store.OrderOpen {
			t.Errorf("order status = %s, want still open", got.Status)
		}
		if n := billingtest.Count(t, db, "payments"); n != 0 {
			t.Errorf("payments = %d, want 0", n)
		}
		f.Card.Declined = nil
		got, _, err := f.Svc.StartPayment(ctx, o.OrderNo, "20260001", "123456")
		if err != nil || got.Status != store.OrderPaid {
			t.Fatalf("StartPayment with the right password = %v, %v; want paid", got, err)
		}
	})
}

func TestCreateOrderRejectsBadRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		otherNo := "X1"
		foreign := &store.Bill{BillNo: otherNo, Source: "console", ItemID: f.Item.ID, PayerID: &f.Other.ID, PayerType: "internal",
			PayerName: f.Other.Name, AmountDueFen: 100, Status: store.BillUnpaid, CreatedAt: f.Clock.Now(), UpdatedAt: f.Clock.Now()}
		billingtest.Insert(t, db, foreign)
		tests := []struct {
			name string
			req  billing.OrderRequest
			want error
		}{
			{"no bills", billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox"}, fault.ErrInvalid},
			{"another payer's bill", billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox", Lines: []billing.LineRequest{{BillID: foreign.ID}}}, fault.ErrForbidden},
			{"unknown bill", billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox", Lines: []billing.LineRequest{{BillID: 999999}}}, fault.ErrForbidden},
			{"partial on a pay-in-full item", billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox", Lines: []billing.LineRequest{{BillID: f.Bills[0].ID, AmountFen: 100}}}, fault.ErrInvalid},
			{"negative amount", billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox", Lines: []billing.LineRequest{{BillID: f.Bills[0].ID, AmountFen: -5}}}, fault.ErrInvalid},
			{"same bill twice", billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox", Lines: []billing.LineRequest{{BillID: f.Bills[0].ID}, {BillID: f.Bills[0].ID}}}, fault.ErrInvalid},
			{"unknown channel", billing.OrderRequest{PayerID: f.Payer.ID, Channel: "bitcoin", Lines: []billing.LineRequest{{BillID: f.Bills[0].ID}}}, fault.ErrInvalid},
		}
		for _, tt := range tests {
			if _, err := f.Svc.CreateOrder(ctx, tt.req); !errors.Is(err, tt.want) {
				t.Errorf("%s: CreateOrder = %v, want %v", tt.name, err, tt.want)
			}
		}
		// Suspended item: nothing payable.
		db.NewUpdate().Model((*store.ChargeItem)(nil)).Set("status = ?", store.ItemSuspended).Where("id = ?", f.Item.ID).Exec(ctx)
		if _, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox", Lines: []billing.LineRequest{{BillID: f.Bills[0].ID}}}); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("suspended item: CreateOrder = %v, want conflict", err)
		}
		if n := billingtest.Count(t, db, "orders"); n != 0 {
			t.Errorf("orders = %d, want 0", n)
		}
	})
}
