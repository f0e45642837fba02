package bills_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/bills"
	"campuspay/app/fault"
	"campuspay/store"
	"campuspay/store/storetest"
)

func clientBill(no, payerNo, name string, amount int64) bills.ClientBillRequest {
	return bills.ClientBillRequest{BillNo: no, ItemCode: "TUITION-2026", Amount: &amount,
		Payer: billing.APIPayer{Type: "internal", ID: payerNo, Name: name}}
}

func TestClientBillsBatchAndIdempotency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		cl := &store.Client{AppID: "admissions", AllowedItems: f.Item.Code}

		// Two bills of one new payer in a batch: one payer made, both bills on it.
		res, err := f.BillSvc.CreateClientBills(ctx, cl, []bills.ClientBillRequest{
			clientBill("A-1", "2099000001", "新生", 100), clientBill("A-2", "2099000001", "新生", 200),
			clientBill("A-3", "2099000001", "别名", 300), clientBill("A-1", "2099000001", "新生", 100),
		}, bills.SourceAPI)
		if err != nil {
			t.Fatal(err)
		}
		if !res[0].Created || !res[1].Created || res[2].Err == nil || res[3].Created || res[3].Err != nil || res[3].Bill.BillNo != "A-1" {
			t.Fatalf("results %+v", res)
		}
		if n := billingtest.Count(t, db, "users"); n != 3 {
			t.Errorf("%d users, want the fixture's 2 and one new payer", n)
		}
		var audits []store.AuditLog
		db.NewSelect().Model(&audits).Where("actor = ?", "client:admissions").Scan(ctx)
		if len(audits) != 3 {
			t.Errorf("%d audit rows, want 2 bill.created and 1 payer.created", len(audits))
		}

		// Metadata is compared as an object: keys in another order are the same bill.
		m1 := clientBill("M-1", "20260001", "", 500)
		m1.Metadata = json.RawMessage(`{"b": 1, "a": "<x>", "n": 1.50}`)
		if _, created, err := f.BillSvc.CreateClientBill(ctx, cl, m1, bills.SourceInbox); err != nil || !created {
			t.Fatalf("metadata bill: %v %v", created, err)
		}
		m1.Metadata = json.RawMessage(`{"a":"<x>","n":1.50,"b":1}`)
		if _, created, err := f.BillSvc.CreateClientBill(ctx, cl, m1, bills.SourceAPI); err != nil || created {
			t.Errorf("same metadata reordered: created %v, %v; want the bill as it stands", created, err)
		}
		m1.Metadata = json.RawMessage(`{"a":"<x>","n":1.5,"b":1}`)
		if _, _, err := f.BillSvc.CreateClientBill(ctx, cl, m1, bills.SourceAPI); !isCode(err, "bill_conflict") {
			t.Errorf("other metadata: %v, want bill_conflict", err)
		}
		var stored store.Bill
		db.NewSelect().Model(&stored).Where("bill_no = ?", "M-1").Scan(ctx)
		if stored.Metadata == nil || *stored.Metadata != `{"a":"<x>","b":1,"n":1.50}` || stored.Source != "inbox" {
			t.Errorf("stored metadata %v, source %s", stored.Metadata, stored.Source)
		}
		if _, _, err := f.BillSvc.CreateClientBill(ctx, cl, clientBill("X-1", "20260001", "", 1), "fax"); err == nil {
			t.Error("an unknown source was accepted")
		}
	})
}

func isCode(err error, code string) bool {
	be, ok := err.(*fault.Error)
	return ok && be.Code == code
}

// Overlapping batches at once: each bill is made once, every answer is a bill.
func TestClientBatchesRacing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		cl := &store.Client{AppID: "admissions", AllowedItems: f.Item.Code}
		batch := make([]bills.ClientBillRequest, 50)
		for i := range batch {
			batch[i] = clientBill(fmt.Sprintf("R-%02d", i), fmt.Sprintf("20990%05d", i), "新生", int64(100+i))
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		created := 0
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := f.BillSvc.CreateClientBills(ctx, cl, batch, bills.SourceAPI)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, r := range res {
					if r.Err != nil || r.Bill == nil {
						t.Errorf("%s: %v", r.BillNo, r.Err)
					}
					if r.Created {
						created++
					}
				}
			}()
		}
		wg.Wait()
		if created != 50 || billingtest.Count(t, db, "bills") != 3+50 || billingtest.Count(t, db, "users") != 2+50 {
			t.Errorf("created %d, bills %d, users %d; want 50 new bills and payers", created, billingtest.Count(t, db, "bills"), billingtest.Count(t, db, "users"))
		}
	})
}

func TestBillOrderForAnOffCampusPayer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		conf := &store.ChargeItem{Code: "CONF-2026", Name: "会议注册费", DepartmentID: f.Item.DepartmentID, Category: "conference",
			Audience: store.AudienceBoth, Pricing: store.PricingFixed, PriceFen: 80000, Status: store.ItemApproved,
			CreatedAt: f.Clock.Now(), UpdatedAt: f.Clock.Now()}
		billingtest.Insert(t, db, conf)
		cl := &store.Client{AppID: "conf", AllowedItems: "CONF-2026"}
		if _, _, err := f.BillSvc.CreateClientBill(ctx, cl, bills.ClientBillRequest{BillNo: "C-1", ItemCode: "CONF-2026",
			Payer: billing.APIPayer{Type: "external", Name: "校外专家", Phone: "13900000001"}}, bills.SourceAPI); err != nil {
			t.Fatal(err)
		}
		var b store.Bill
		db.NewSelect().Model(&b).Where("bill_no = ?", "C-1").Scan(ctx)
		o1, created, err := f.Svc.CreateBillOrder(ctx, b.ID, "sandbox")
		if err != nil || !created || o1.TotalFen != 80000 || o1.PayerPhone != "13900000001" {
			t.Fatalf("order %+v created %v: %v", o1, created, err)
		}
		o2, created, err := f.Svc.CreateBillOrder(ctx, b.ID, "sandbox")
		if err != nil || created || o2.OrderNo != o1.OrderNo {
			t.Errorf("second opening: %v %v %v, want order %s again", o2, created, err, o1.OrderNo)
		}
		if _, _, err := f.Svc.CreateBillOrder(ctx, f.Bills[0].ID, "sandbox"); err == nil {
			t.Error("an order without sign-in was made for an internal payer's bill")
		}
	})
}
