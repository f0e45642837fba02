package billing_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/store"
	"campuspay/store/storetest"
)

// Receipts are written unnumbered by the payment and numbered in batches by one writer
// (numbering.go). These tests check what must hold whatever the timing: every year's
// numbers 1…n, none repeated or skipped, the sequence row at n, one receipt per credited
// bill — with payments in parallel, and with two platform instances numbering at once.

// numberingOrders makes n open orders of two new bills each (¥100.00 and ¥20.00) of the
// fixture's payer.
func numberingOrders(t *testing.T, f *billingtest.Fixture, n int) []*store.Order {
	t.Helper()
	ctx := context.Background()
	now := f.Clock.Now()
	orders := make([]*store.Order, n)
	for i := range n {
		var lines []billing.LineRequest
		for j, amount := range []int64{10000, 2000} {
			b := &store.Bill{BillNo: fmt.Sprintf("N%03d-%d", i, j), Source: "console", ItemID: f.Item.ID, PayerID: &f.Payer.ID,
				PayerType: "internal", PayerName: f.Payer.Name, AmountDueFen: amount, Status: store.BillUnpaid, CreatedAt: now, UpdatedAt: now}
			billingtest.Insert(t, f.DB, b)
			lines = append(lines, billing.LineRequest{BillID: b.ID})
		}
		o, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: "sandbox", Lines: lines})
		if err != nil {
			t.Fatal(err)
		}
		orders[i] = o
	}
	return orders
}

// payAll applies the orders' trades, workers at a time, through the services in turn
// (order i through svcs[i % len(svcs)]).
func payAll(t *testing.T, f *billingtest.Fixture, orders []*store.Order, workers int, svcs ...*billing.Service) {
	t.Helper()
	ctx := context.Background()
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				o := orders[i]
				out, err := svcs[i%len(svcs)].ApplyTrade(ctx, "sandbox", f.Fake.Paid(o, "T"+o.OrderNo))
				if err != nil || out.Receipts != 2 {
					t.Errorf("ApplyTrade(%s) = %+v, %v; want 2 receipts", o.OrderNo, out, err)
				}
			}
		}()
	}
	for i := range orders {
		next <- i
	}
	close(next)
	wg.Wait()
}

// checkGapless asserts that the year's receipts are numbered 1…want, each once, every
// receipt_no the year and its 8-digit seq, and the sequence row at want.
func checkGapless(t *testing.T, db *bun.DB, year, want int) {
	t.Helper()
	ctx := context.Background()
	var rs []store.Receipt
	if err := db.NewSelect().Model(&rs).Where("year = ?", year).OrderExpr("seq").Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rs) != want {
		t.Fatalf("%d receipts of %d, want %d", len(rs), year, want)
	}
	perBill := map[int64]int{}
	for i, r := range rs {
		if r.Seq != int64(i+1) || r.ReceiptNo != fmt.Sprintf("%d%08d", year, i+1) {
			t.Fatalf("receipt %d of %d: seq %d no %q, want %d", i, year, r.Seq, r.ReceiptNo, i+1)
		}
		perBill[r.BillID]++
	}
	for bill, n := range perBill {
		if n != 1 {
			t.Errorf("bill %d has %d receipts, want 1", bill, n)
		}
	}
	var last int64
	if err := db.NewSelect().Model((*store.ReceiptSequence)(nil)).Column("last_no").Where("year = ?", year).Scan(ctx, &last); err != nil {
		t.Fatal(err)
	}
	if last != int64(want) {
		t.Errorf("sequence of %d at %d, want %d", year, last, want)
	}
}

func TestParallelPaymentsGetGaplessUniqueReceiptNumbers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		orders := numberingOrders(t, f, 60)
		payAll(t, f, orders, 8, f.Svc)
		if err := f.Svc.NumberReceipts(context.Background()); err != nil {
			t.Fatal(err)
		}
		checkGapless(t, db, 2026, 120)
		// Each order's two receipts, as the 支付成功 page reads them: numbered, in bill order.
		rs, err := f.Svc.OrderReceipts(context.Background(), orders[17].ID)
		if err != nil || len(rs) != 2 || rs[0].ReceiptNo == "" || rs[1].Seq == 0 {
			t.Errorf("receipts of one order = %+v, %v", rs, err)
		}
	})
}

// Two billing.Service instances on one database are two platform instances: each numbers
// after its own payments, and both sweep at once while payments go on.
func TestTwoInstancesNumberingAtOnceNeverRepeatOrSkip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		other := &billing.Service{DB: db, Channels: f.Svc.Channels, Now: f.Clock.Now,
			NotifyURL: f.Svc.NotifyURL, ReturnURL: f.Svc.ReturnURL}
		t.Cleanup(func() { other.NumberReceipts(context.Background()) })
		orders := numberingOrders(t, f, 60)

		ctx, stop := context.WithCancel(context.Background())
		var sweeps sync.WaitGroup
		for _, s := range []*billing.Service{f.Svc, other} {
			sweeps.Add(1)
			go func() {
				defer sweeps.Done()
				for ctx.Err() == nil {
					if err := s.NumberReceipts(ctx); err != nil && ctx.Err() == nil {
						t.Errorf("NumberReceipts: %v", err)
						return
					}
				}
			}()
		}
		payAll(t, f, orders, 8, f.Svc, other)
		stop()
		sweeps.Wait()
		for _, s := range []*billing.Service{f.Svc, other} {
			if err := s.NumberReceipts(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		checkGapless(t, db, 2026, 120)
	})
}

// The race two numberers can run into, made to happen: instance A reads the receipts to
// number, instance B numbers them before A's transaction starts. A must number none of them
// again (no receipt renumbered, no number skipped).
func TestReceiptsNumberedByAnotherInstanceMeanwhileAreLeftAlone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		a := &billing.Service{DB: db, Now: f.Clock.Now}
		b := &billing.Service{DB: db, Now: f.Clock.Now}
		// Three receipts left unnumbered (as a payment leaves them), written directly.
		order := &store.Order{OrderNo: "PNUM1", PayerID: &f.Payer.ID, PayerName: f.Payer.Name, Channel: "sandbox", TotalFen: 178000,
			Status: store.OrderPaid, ExpiresAt: f.Clock.Now(), CreatedAt: f.Clock.Now(), UpdatedAt: f.Clock.Now()}
		billingtest.Insert(t, db, order)
		for i, bill := range f.Bills {
			billingtest.Insert(t, db, &store.Receipt{Year: 2026, BillID: bill.ID, OrderID: order.ID, PaymentID: 1,
				PayerName: f.Payer.Name, ItemName: f.Item.Name, Department: "财务处", AmountFen: bill.AmountDueFen,
				Channel: "sandbox", VerifyToken: fmt.Sprintf("tok%021d", i), IssuedAt: f.Clock.Now()})
		}
		var byB []string
		once := false
		billing.SetAfterCandidates(a, func(ctx context.Context) {
			if once {
				return
			}
			once = true
			if err := b.NumberReceipts(ctx); err != nil {
				t.Errorf("B: %v", err)
			}
			var rs []store.Receipt
			db.NewSelect().Model(&rs).OrderExpr("id").Scan(ctx)
			for _, r := range rs {
				byB = append(byB, r.ReceiptNo)
			}
		})
		if err := a.NumberReceipts(ctx); err != nil {
			t.Fatal(err)
		}
		if !once {
			t.Fatal("A's round never read the receipts")
		}
		checkGapless(t, db, 2026, 3)
		var rs []store.Receipt
		db.NewSelect().Model(&rs).OrderExpr("id").Scan(ctx)
		for i, r := range rs {
			if i >= len(byB) || r.ReceiptNo != byB[i] {
				t.Errorf("receipt %d is %q, B numbered it %v", r.ID, r.ReceiptNo, byB)
			}
		}
	})
}

// A page that asks for an order's receipts gets their numbers even when the numberer has
// not run yet: it asks for a round and waits for it.
func TestOrderReceiptsWaitForTheirNumbers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		o := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID}, billing.LineRequest{BillID: f.Bills[1].ID})
		// A second instance takes the payment: this one's numberer is not woken by it.
		other := &billing.Service{DB: db, Channels: f.Svc.Channels, Now: f.Clock.Now}
		if _, err := other.ApplyTrade(ctx, "sandbox", f.Fake.Paid(o, "SB-W")); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.NumberReceipts(context.Background()) })
		// Whatever other's numberer did meanwhile, the receipts are unnumbered again here, as
		// if it had not run (the sequence row with them).
		if err := other.NumberReceipts(ctx); err != nil {
			t.Fatal(err)
		}
		db.NewUpdate().Model((*store.Receipt)(nil)).Set("seq = NULL").Set("receipt_no = NULL").Where("order_id = ?", o.ID).Exec(ctx)
		db.NewUpdate().Model((*store.ReceiptSequence)(nil)).Set("last_no = 0").Where("year = ?", 2026).Exec(ctx)

		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		rs, err := f.Svc.OrderReceipts(wctx, o.ID)
		if err != nil || len(rs) != 2 || rs[0].ReceiptNo != "202600000001" || rs[1].ReceiptNo != "202600000002" {
			t.Fatalf("OrderReceipts = %+v, %v; want 202600000001 and 202600000002", rs, err)
		}
		checkGapless(t, db, 2026, 2)
	})
}
