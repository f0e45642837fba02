package reports_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/bizday"
	"campuspay/app/fault"
	"campuspay/app/reports"
	"campuspay/store"
	"campuspay/store/storetest"
)

func day(s string) time.Time {
	d, err := bizday.ParseDay(s)
	if err != nil {
		panic(err)
	}
	return d
}

// seedPayments pays, for each of n payers, a CET bill (10.00 + i fen) and, for every other
// payer, a DORM bill in the same order, spread over the days before the fixture's today.
func seedPayments(t *testing.T, f *statsFixture, n int) {
	t.Helper()
	now := f.Clock.Now()
	for i, p := range f.payers[:n] {
		bills := []*store.Bill{f.billFor(t, p, f.itemA, 1000+int64(i))}
		if i%2 == 0 {
			bills = append(bills, f.billFor(t, p, f.itemB, 120000))
		}
		ch := "campuscard"
		if i%3 == 0 {
			ch = "sandbox"
		}
		f.pay(t, p, ch, now.Add(-time.Duration(i)*7*time.Hour), bills...)
	}
}

func TestSearchPaymentsPagesAddUpToTotals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newStatsFixture(t, db, 23)
		seedPayments(t, f, 23)
		ctx := context.Background()
		for _, scope := range []*int64{nil, &f.deptA.ID, &f.deptB.ID} {
			search := reports.PaymentSearch{SearchFilter: reports.SearchFilter{Scope: scope}}
			var sum, want reports.PaymentSearchTotals
			payments := map[int64]bool{}
			var last time.Time
			for page := 0; ; page++ {
				rows, tot, err := f.Reports.SearchPayments(ctx, search, page*5, 5)
				if err != nil {
					t.Fatal(err)
				}
				want = tot
				if len(rows) == 0 {
					break
				}
				for _, r := range rows {
					if !last.IsZero() && r.PaidAt.After(last) {
						t.Errorf("rows not newest first: %v after %v", r.PaidAt, last)
					}
					last = r.PaidAt
					if scope != nil && r.DepartmentID != *scope {
						t.Errorf("scope %d sees a row of department %d", *scope, r.DepartmentID)
					}
					sum.Count++
					sum.AmountFen += r.AmountFen
					sum.CreditedFen += r.CreditedFen
					sum.OverpaidFen += r.OverpaidFen()
					payments[r.PaymentID] = true
				}
			}
			sum.Payments = int64(len(payments))
			if sum != want {
				t.Errorf("scope %v: pages add up to %+v, totals say %+v", scope, sum, want)
			}
			if sum.Count == 0 {
				t.Errorf("scope %v: no rows", scope)
			}
			if false {
				t.Errorf("scope %v: %d distinct payments in rows, totals say %d", scope, len(payments), sum.Payments)
			}
		}
		all, _ := f.Reports.SumPayments(ctx, reports.PaymentSearch{})
		a, _ := f.Reports.SumPayments(ctx, reports.PaymentSearch{SearchFilter: reports.SearchFilter{Scope: &f.deptA.ID}})
		b, _ := f.Reports.SumPayments(ctx, reports.PaymentSearch{SearchFilter: reports.SearchFilter{DepartmentID: f.deptB.ID}})
		if a.CreditedFen+b.CreditedFen != all.CreditedFen || all.Count != 23+12 || all.Payments != 23 {
			t.Errorf("departments %d + %d, all %d (%d rows, %d payments), want the sum, 35 rows, 23 payments", a.CreditedFen, b.CreditedFen, all.CreditedFen, all.Count, all.Payments)
		}
		if b.CreditedFen != 12*120000 {
			t.Errorf("DORM collected %d, want %d", b.CreditedFen, 12*120000)
		}
	})
}

func TestSearchPaymentsShanghaiDays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newStatsFixture(t, db, 2)
		ctx := context.Background()
		// 16:30 UTC on Nov 25 is 00:30 on Nov 26 in bizday.Shanghai; 15:59 UTC is still Nov 25.
		f.pay(t, f.payers[0], "campuscard", time.Date(2026, 11, 25, 16, 30, 0, 0, time.UTC), f.billFor(t, f.payers[0], f.itemA, 3000))
		f.pay(t, f.payers[1], "sandbox", time.Date(2026, 11, 25, 15, 59, 59, 0, time.UTC), f.billFor(t, f.payers[1], f.itemA, 4000))
		tests := []struct {
			name     string
			filter   reports.SearchFilter
			wantFen  int64
			wantRows int64
		}{
			{"Nov 26 takes 16:30 UTC of Nov 25", reports.SearchFilter{From: day("2026-11-26"), To: day("2026-11-26")}, 3000, 1},
			{"Nov 25 ends at 16:00 UTC", reports.SearchFilter{From: day("2026-11-25"), To: day("2026-11-25")}, 4000, 1},
			{"both days", reports.SearchFilter{From: day("2026-11-25"), To: day("2026-11-26")}, 7000, 2},
			{"from only", reports.SearchFilter{From: day("2026-11-26")}, 3000, 1},
			{"to only", reports.SearchFilter{To: day("2026-11-25")}, 4000, 1},
			{"channel", reports.SearchFilter{Channel: "sandbox"}, 4000, 1},
			{"payer number", reports.SearchFilter{Payer: *f.payers[0].PayerNo}, 3000, 1},
			{"payer name prefix", reports.SearchFilter{Payer: "学生"}, 7000, 2},
			{"payer name with a wildcard", reports.SearchFilter{Payer: "%"}, 0, 0},
			{"item", reports.SearchFilter{ItemID: f.itemB.ID}, 0, 0},
			{"status credited", reports.SearchFilter{Status: reports.PaymentCredited}, 7000, 2},
			{"status overpaid", reports.SearchFilter{Status: reports.PaymentOverpaid}, 0, 0},
			{"status late", reports.SearchFilter{Status: reports.PaymentLate}, 0, 0},
		}
		for _, tt := range tests {
			tot, err := f.Reports.SumPayments(ctx, reports.PaymentSearch{SearchFilter: tt.filter})
			if err != nil {
				t.Fatal(err)
			}
			if tot.CreditedFen != tt.wantFen || tot.Count != tt.wantRows {
				t.Errorf("%s: collected %d in %d rows, want %d in %d", tt.name, tot.CreditedFen, tot.Count, tt.wantFen, tt.wantRows)
			}
		}
		_, err := f.Reports.SumPayments(ctx, reports.PaymentSearch{SearchFilter: reports.SearchFilter{From: day("2026-11-26"), To: day("2026-11-25")}})
		if fault.Message(err, "") != "结束日期不能早于开始日期" {
			t.Errorf("reversed range: err = %v, want 结束日期不能早于开始日期", err)
		}
	})
}

func TestSearchPaymentsOverpaid(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newStatsFixture(t, db, 1)
		ctx := context.Background()
		p := f.payers[0]
		b := f.billFor(t, p, f.itemA, 5000)
		o := f.pay(t, p, "campuscard", f.Clock.Now(), b)
		// The same order paid a second time under another trade number: no bill takes it.
		second := f.Card.Paid(o, "SECOND")
		second.PaidAt = f.Clock.Now()
		if _, err := f.Svc.ApplyTrade(ctx, "campuscard", second); err != nil {
			t.Fatal(err)
		}
		tot, err := f.Reports.SumPayments(ctx, reports.PaymentSearch{})
		if err != nil {
			t.Fatal(err)
		}
		if tot.AmountFen != 10000 || tot.CreditedFen != 5000 || tot.OverpaidFen != 5000 || tot.Payments != 2 {
			t.Errorf("totals %+v, want received 10000, collected 5000, overpaid 5000 in 2 payments", tot)
		}
		over, _ := f.Reports.SumPayments(ctx, reports.PaymentSearch{SearchFilter: reports.SearchFilter{Status: reports.PaymentOverpaid}})
		if over.OverpaidFen != 5000 || over.CreditedFen != 0 {
			t.Errorf("overpaid search %+v, want the second payment only", over)
		}
		o2, err := f.Reports.Overview(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if o2.Today.CollectedFen != 5000 || o2.Today.OverpaidFen != 5000 {
			t.Errorf("today %+v, want 5000 collected and 5000 overpaid", o2.Today)
		}
	})
}

func TestSearchOrdersBillsAndExport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newStatsFixture(t, db, 9)
		seedPayments(t, f, 7)
		ctx := context.Background()
		f.billFor(t, f.payers[8], f.itemB, 99900) // unpaid
		// Orders: seven paid orders; for DORM only the DORM lines count.
		all, err := f.Reports.SumOrders(ctx, reports.OrderSearch{})
		if err != nil {
			t.Fatal(err)
		}
		pay, _ := f.Reports.SumPayments(ctx, reports.PaymentSearch{})
		if all.Count != 7 || all.AmountFen != pay.AmountFen || all.PaidFen != pay.AmountFen {
			t.Errorf("orders %+v, want 7 orders of %d", all, pay.AmountFen)
		}
		dorm, _ := f.Reports.SumOrders(ctx, reports.OrderSearch{SearchFilter: reports.SearchFilter{Scope: &f.deptB.ID}})
		if dorm.Count != 4 || dorm.AmountFen != 4*120000 {
			t.Errorf("DORM orders %+v, want 4 of 480000", dorm)
		}
		rows, _, err := f.Reports.SearchOrders(ctx, reports.OrderSearch{SearchFilter: reports.SearchFilter{Scope: &f.deptB.ID}}, 0, 20)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.AmountFen != 120000 || r.Lines != 1 {
				t.Errorf("DORM order row %+v, want only its DORM line", r)
			}
		}
		// Bills: the totals are the bills' sums, outstanding as store.Bill counts it.
		bt, err := f.Reports.SumBills(ctx, reports.BillSearch{SearchFilter: reports.SearchFilter{ItemID: f.itemB.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if bt.Count != 5 || bt.DueFen != 4*120000+99900 || bt.PaidFen != 4*120000 || bt.OutstandingFen != 99900 {
			t.Errorf("DORM bills %+v, want 5 bills, due 579900, paid 480000, outstanding 99900", bt)
		}
		unpaid, _ := f.Reports.SumBills(ctx, reports.BillSearch{SearchFilter: reports.SearchFilter{Scope: &f.deptB.ID, Status: "unpaid"}})
		if unpaid.Count != 1 {
			t.Errorf("unpaid bills = %d, want 1", unpaid.Count)
		}
		byCard, _ := f.Reports.SumBills(ctx, reports.BillSearch{SearchFilter: reports.SearchFilter{Channel: "sandbox"}})
		sandbox, _ := f.Reports.SumPayments(ctx, reports.PaymentSearch{SearchFilter: reports.SearchFilter{Channel: "sandbox"}})
		if byCard.PaidFen != sandbox.CreditedFen {
			t.Errorf("bills paid by sandbox %d, sandbox collected %d", byCard.PaidFen, sandbox.CreditedFen)
		}
		// The export sees every row of the search, in the same order.
		page, tot, _ := f.Reports.SearchPayments(ctx, reports.PaymentSearch{}, 0, 100)
		var n int
		var credited int64
		if _, err := f.Reports.EachPayment(ctx, reports.PaymentSearch{}, func(r reports.PaymentSearchRow) error {
			if r != page[n] {
				t.Errorf("export row %d = %+v, want %+v", n, r, page[n])
			}
			n++
			credited += r.CreditedFen
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if int64(n) != tot.Count || credited != tot.CreditedFen {
			t.Errorf("export wrote %d rows of %d, want %d of %d", n, credited, tot.Count, tot.CreditedFen)
		}
		// Refunds: none yet, and the search works on the refunds table.
		rt, err := f.Reports.SumRefunds(ctx, reports.RefundSearch{SearchFilter: reports.SearchFilter{Scope: &f.deptA.ID, Status: "succeeded"}})
		if err != nil || rt.Count != 0 {
			t.Errorf("refunds %+v, %v; want none", rt, err)
		}
	})
}
