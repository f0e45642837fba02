package reports_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/channel"
	"campuspay/store"
)

// statsFixture is a school of two departments with an item each, and payers with a bill
// under each item, for the search and statistics tests.
type statsFixture struct {
	*billingtest.Fixture
	deptA, deptB *store.Department
	itemA, itemB *store.ChargeItem
	payers       []*store.User
	seq          int
}

func newStatsFixture(t *testing.T, db *bun.DB, payers int) *statsFixture {
	t.Helper()
	f := &statsFixture{Fixture: billingtest.NewFixture(t, db)}
	now := f.Clock.Now()
	f.deptA = &store.Department{Code: "JWC", Name: "教务处", CreatedAt: now}
	f.deptB = &store.Department{Code: "HQ", Name: "后勤管理处", CreatedAt: now}
	billingtest.Insert(t, db, f.deptA)
	billingtest.Insert(t, db, f.deptB)
	item := func(dept *store.Department, code string) *store.ChargeItem {
		it := &store.ChargeItem{Code: code, Name: code + "费", DepartmentID: dept.ID, Category: "fee", Audience: store.AudienceInternal,
			Pricing: store.PricingPerBill, PartialAllowed: true, Status: store.ItemApproved, CreatedAt: now, UpdatedAt: now}
		billingtest.Insert(t, db, it)
		return it
	}
	f.itemA, f.itemB = item(f.deptA, "CET"), item(f.deptB, "DORM")
	for i := 0; i < payers; i++ {
		no := fmt.Sprintf("2027%04d", i)
		u := &store.User{Login: no, Name: "学生" + no, Roles: "payer", PayerNo: &no, Status: "active", CreatedAt: now, UpdatedAt: now}
		billingtest.Insert(t, db, u)
		f.payers = append(f.payers, u)
	}
	return f
}

// bill gives payer a bill of amount under item.
func (f *statsFixture) billFor(t *testing.T, payer *store.User, item *store.ChargeItem, amount int64) *store.Bill {
	t.Helper()
	f.seq++
	now := f.Clock.Now()
	b := &store.Bill{BillNo: fmt.Sprintf("S%05d", f.seq), Source: "console", ItemID: item.ID, PayerID: &payer.ID, PayerType: "internal",
		PayerName: payer.Name, AmountDueFen: amount, Status: store.BillUnpaid, CreatedAt: now, UpdatedAt: now}
	billingtest.Insert(t, f.DB, b)
	return b
}

// pay makes an order of the bills on channel ch and applies its payment as paid at paidAt.
func (f *statsFixture) pay(t *testing.T, payer *store.User, ch string, paidAt time.Time, bills ...*store.Bill) *store.Order {
	t.Helper()
	var lines []billing.LineRequest
	for _, b := range bills {
		lines = append(lines, billing.LineRequest{BillID: b.ID})
	}
	o, err := f.Svc.CreateOrder(context.Background(), billing.OrderRequest{PayerID: payer.ID, Lines: lines, Channel: ch})
	if err != nil {
		t.Fatal(err)
	}
	f.seq++
	_, err = f.Svc.ApplyTrade(context.Background(), ch, channel.Trade{OrderNo: o.OrderNo, TradeNo: fmt.Sprintf("T%06d", f.seq),
		AmountFen: o.TotalFen, Status: channel.TradeSuccess, PaidAt: paidAt})
	if err != nil {
		t.Fatal(err)
	}
	return o
}
