package console_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"campuspay/app/server/servertest"
	"campuspay/store"
	"campuspay/store/storetest"
)

// BenchmarkDashboard1M times the dashboard with 1,000,000 paid orders (one bill and one
// payment each) spread evenly over the last 120 days, across 5 departments, 20 items and 2 channels,
// plus 100,000 unpaid bills, on MariaDB/MySQL:
//
//	CAMPUSPAY_BENCH_DASHBOARD=1 CAMPUSPAY_TEST_MYSQL='root@tcp(127.0.0.1:3306)/test' \
//	  go test ./app/console/ -run '^$' -bench BenchmarkDashboard1M -benchtime 20x -timeout 60m
//
// Seeding takes a few minutes (INSERT … SELECT from MariaDB's seq_1_to_N tables, in chunks).
// It times the data functions, the rendered /console page and each chart fragment, with the
// daily snapshot written (as the job keeps it) and, for the headline strip, without it.
func BenchmarkDashboard1M(b *testing.B) {
	if os.Getenv("CAMPUSPAY_BENCH_DASHBOARD") != "1" || os.Getenv(storetest.EnvMySQL) == "" {
		b.Skip("set CAMPUSPAY_BENCH_DASHBOARD=1 and " + storetest.EnvMySQL)
	}
	p := servertest.Start(b, servertest.Options{MySQL: true, Demo: true})
	ctx := context.Background()
	start := time.Now()
	stSeed1M(b, p, 1_000_000, 100_000)
	b.Logf("seeded 1,000,000 paid orders and 100,000 unpaid bills in %v", time.Since(start).Round(time.Second))

	start = time.Now()
	if _, err := p.Reports.Overview(ctx, nil); err != nil {
		b.Fatal(err)
	}
	b.Logf("headline figures with no snapshot (every day live): %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	n, err := p.Reports.RefreshStats(ctx, 130)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("snapshot job, first run: %d days in %v", n, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	n, _ = p.Reports.RefreshStats(ctx, 130)
	b.Logf("snapshot job, a later run: %d days in %v", n, time.Since(start).Round(time.Millisecond))

	today := p.Reports.Today()
	term := today.AddDate(0, 0, -150)
	var jwc int64
	p.DB.NewSelect().Model((*store.Department)(nil)).Column("id").Where("code = 'JWC'").Scan(ctx, &jwc)
	funcs := []struct {
		name string
		fn   func() error
	}{
		{"Overview", func() error { _, err := p.Reports.Overview(ctx, nil); return err }},
		{"OverviewDept", func() error { _, err := p.Reports.Overview(ctx, &jwc); return err }},
		{"DailyCollected30", func() error { _, err := p.Reports.DailyCollected(ctx, nil, 30); return err }},
		{"ByDepartment", func() error { _, err := p.Reports.CollectedByDepartment(ctx, nil, term, today); return err }},
		{"ByChannel", func() error { _, err := p.Reports.CollectedByChannel(ctx, nil, term, today); return err }},
		{"TopOutstanding", func() error { _, err := p.Reports.TopOutstandingItems(ctx, nil, 10); return err }},
		{"CollectionByItem", func() error { _, err := p.Reports.CollectionByItem(ctx, nil, 8); return err }},
	}
	for _, f := range funcs {
		b.Run(f.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := f.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	fin := p.NewBrowser(b)
	fin.Login("finance", "finance123456")
	for _, path := range []string{"/console", "/console/charts/trend", "/console/charts/departments", "/console/charts/channels",
		"/console/charts/outstanding", "/console/charts/progress"} {
		b.Run("GET "+path, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if code, _, _ := fin.Do("GET", path, nil, path != "/console"); code != http.StatusOK {
					b.Fatalf("GET %s = %d", path, code)
				}
			}
		})
	}
}

// stSeed1M writes paid orders (bill, order, line, payment) and unpaid bills straight into
// the database with explicit ids above those the demo uses.
func stSeed1M(b *testing.B, p *servertest.Platform, paid, unpaid int) {
	b.Helper()
	ctx := context.Background()
	exec := func(q string, args ...any) {
		if _, err := p.DB.ExecContext(ctx, q, args...); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
	// 20 items over the 5 demo departments: the 5 demo items and 15 more.
	now := store.UTC(time.Now())
	var depts []store.Department
	if err := p.DB.NewSelect().Model(&depts).OrderExpr("id").Scan(ctx); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 15; i++ {
		it := &store.ChargeItem{Code: fmt.Sprintf("BENCH-%02d", i), Name: fmt.Sprintf("压测收费项目%02d", i), DepartmentID: depts[i%len(depts)].ID,
			Category: "fee", Audience: store.AudienceInternal, Pricing: store.PricingPerBill, Status: store.ItemApproved, CreatedAt: now, UpdatedAt: now}
		if _, err := p.DB.NewInsert().Model(it).Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	exec("CREATE TABLE bench_items (k INT PRIMARY KEY, id BIGINT NOT NULL)")
	exec("INSERT INTO bench_items (k, id) SELECT ROW_NUMBER() OVER (ORDER BY id) - 1, id FROM charge_items")
	var payer int64
	p.DB.NewSelect().Model((*store.User)(nil)).ColumnExpr("MIN(id)").Where("payer_no IS NOT NULL").Scan(ctx, &payer)

	const base = 10_000_000
	const chunk = 100_000
	// A paid order n: item n%20, amount 100.00–299.99, paid at evenly spaced times over the last
	// 120 days, in the order of their ids (as a live system writes them).
	for lo := 1; lo <= paid; lo += chunk {
		hi := min(lo+chunk-1, paid)
		rng := fmt.Sprintf("seq_%d_to_%d", lo, hi)
		ts := fmt.Sprintf("(UTC_TIMESTAMP(6) - INTERVAL FLOOR((%d - s.seq) * %f) SECOND)", paid, 120*86400/float64(paid))
		amount := "(10000 + (s.seq * 7919) % 20000)"
		exec(`INSERT INTO bills (id, bill_no, source, source_client, item_id, payer_id, payer_type, payer_name, amount_due_fen,
			amount_paid_fen, status, created_at, updated_at, paid_at)
			SELECT ? + s.seq, CONCAT('BENCH', s.seq), 'import', 'bench', bi.id, ? + s.seq % 100, 'internal', '压测缴费人', `+amount+`,
			`+amount+`, 'paid', `+ts+`, `+ts+`, `+ts+` FROM `+rng+` AS s JOIN bench_items AS bi ON bi.k = s.seq % 20`, base, payer)
		exec(`INSERT INTO orders (id, order_no, payer_id, payer_name, channel, total_fen, status, expires_at, paid_at, created_at, updated_at)
			SELECT ? + s.seq, CONCAT('B', s.seq), ? + s.seq % 100, '压测缴费人', IF(s.seq % 3 = 0, 'sandbox', 'campuscard'), `+amount+`,
			'paid', `+ts+`, `+ts+`, `+ts+`, `+ts+` FROM `+rng+` AS s`, base, payer)
		exec(`INSERT INTO order_lines (order_id, bill_id, amount_fen) SELECT ? + s.seq, ? + s.seq, `+amount+` FROM `+rng+` AS s`, base, base)
		exec(`INSERT INTO payments (order_id, channel, trade_no, amount_fen, credited_fen, late, paid_at, created_at)
			SELECT ? + s.seq, IF(s.seq % 3 = 0, 'sandbox', 'campuscard'), CONCAT('BT', s.seq), `+amount+`, `+amount+`, FALSE, `+ts+`, `+ts+`
			FROM `+rng+` AS s`, base)
	}
	exec(fmt.Sprintf(`INSERT INTO bills (id, bill_no, source, source_client, item_id, payer_id, payer_type, payer_name, amount_due_fen,
		status, created_at, updated_at)
		SELECT ? + s.seq, CONCAT('BENCHU', s.seq), 'import', 'bench', bi.id, ? + s.seq %% 100, 'internal', '压测缴费人', 50000,
		'unpaid', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) FROM seq_1_to_%d AS s JOIN bench_items AS bi ON bi.k = s.seq %% 20`, unpaid),
		base+paid, payer)
	exec("ANALYZE TABLE bills, orders, order_lines, payments")
}
