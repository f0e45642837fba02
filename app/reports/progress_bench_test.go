package reports_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"campuspay/app/billing/billingtest"
	"campuspay/app/reports"
	"campuspay/store"
	"campuspay/store/storetest"
)

// BenchmarkItemProgress1M reads item progress among 1,000,000 bills, 900,000 of them paid,
// each by its own order, spread over 90 days (CAMPUSPAY_BENCH_PROGRESS_BILLS sets another
// number): for an item holding 1% of them, and for one holding the other 99%. On MariaDB; the totals and the collection by
// day, the two queries of the item's progress page. The rows are made by MariaDB's sequence
// engine. Run with
//
//	CAMPUSPAY_BENCH_PROGRESS=1 CAMPUSPAY_TEST_MYSQL='root@tcp(127.0.0.1:3306)/test' \
//	  go test ./app/reports/ -run '^$' -bench BenchmarkItemProgress1M -benchtime 20x
func BenchmarkItemProgress1M(b *testing.B) {
	if os.Getenv("CAMPUSPAY_BENCH_PROGRESS") != "1" || os.Getenv(storetest.EnvMySQL) == "" {
		b.Skip("set CAMPUSPAY_BENCH_PROGRESS=1 and CAMPUSPAY_TEST_MYSQL to run the 1,000,000-order progress benchmark")
	}
	db := storetest.MySQL(b)
	ctx := context.Background()
	now := store.UTC(time.Now())
	dept := &store.Department{Code: "BENCH", Name: "压测部门", CreatedAt: now}
	billingtest.Insert(b, db, dept)
	item := &store.ChargeItem{Code: "BENCH-1M", Name: "压测项目", DepartmentID: dept.ID, Category: "other",
		Audience: store.AudienceInternal, Pricing: store.PricingPerBill, Status: store.ItemApproved, CreatedAt: now, UpdatedAt: now}
	billingtest.Insert(b, db, item)
	small := &store.ChargeItem{Code: "BENCH-1PCT", Name: "压测小项目", DepartmentID: dept.ID, Category: "other",
		Audience: store.AudienceInternal, Pricing: store.PricingPerBill, Status: store.ItemApproved, CreatedAt: now, UpdatedAt: now}
	billingtest.Insert(b, db, small)
	start := time.Now()
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("CAMPUSPAY_BENCH_PROGRESS_BILLS")); err == nil && v > 0 {
		n = v
	}
	for _, q := range []string{
		`INSERT INTO users (id, login, name, roles, payer_no, phone, created_at, updated_at)
		 SELECT seq, CONCAT('U', seq), CONCAT('缴费人', seq), 'payer', CONCAT('P', seq), '', NOW(6), NOW(6) FROM seq_1_to_%d`,
		`INSERT INTO bills (id, bill_no, source, item_id, payer_id, payer_type, payer_name, amount_due_fen, amount_paid_fen, status, paid_at, created_at, updated_at)
		 SELECT seq, CONCAT('B', seq), 'import', IF(MOD(seq, 100) = 1, ?, ?), seq, 'internal', CONCAT('缴费人', seq), 500000, IF(MOD(seq, 10) = 0, 0, 500000),
		        IF(MOD(seq, 10) = 0, 'unpaid', 'paid'), NOW(6), NOW(6), NOW(6) FROM seq_1_to_%d`,
		`INSERT INTO orders (id, order_no, payer_id, payer_name, channel, total_fen, status, expires_at, paid_at, created_at, updated_at)
		 SELECT seq, CONCAT('P', seq), seq, '', 'sandbox', 500000, 'paid', NOW(6), DATE_SUB(NOW(6), INTERVAL MOD(seq, 90) DAY), NOW(6), NOW(6)
		 FROM seq_1_to_%d WHERE MOD(seq, 10) <> 0`,
		`INSERT INTO order_lines (order_id, bill_id, amount_fen) SELECT seq, seq, 500000 FROM seq_1_to_%d WHERE MOD(seq, 10) <> 0`,
		`ANALYZE TABLE bills, orders, order_lines, overpayments`,
	} {
		if strings.Contains(q, "%d") {
			q = fmt.Sprintf(q, n)
		}
		var args []any
		if strings.Contains(q, "INTO bills") {
			args = []any{small.ID, item.ID}
		}
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("made %d bills and %d paid orders in %s", n, n/10*9, time.Since(start).Round(time.Second))
	svc := &reports.Service{DB: db}
	// The triggers on bills logged a delta per bill made: fold them as the job would.
	t0 := time.Now()
	folded, err := svc.FoldItemTotals(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("folded %d item deltas in %s", folded, time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	if _, err := svc.CollectionByItem(ctx, nil, 20); err != nil {
		b.Fatal(err)
	}
	b.Logf("item chart (CollectionByItem, both items): %s", time.Since(t0).Round(time.Millisecond))

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, it := range []*store.ChargeItem{small, item} {
			t0 := time.Now()
			p, err := svc.ItemProgress(ctx, it.ID)
			if err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			days, err := svc.ItemProgressDays(ctx, it.ID, 90)
			if err != nil {
				b.Fatal(err)
			}
			if i == 0 {
				b.Logf("%s: totals %s, by day %s; %d bills, paid %d, %d days", it.Code, t1.Sub(t0).Round(time.Millisecond),
					time.Since(t1).Round(time.Millisecond), p.Bills, p.PaidFen, len(days))
			}
		}
	}
}
