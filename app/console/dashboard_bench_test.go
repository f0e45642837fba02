package console_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"campuspay/app/money"
	"campuspay/app/reports"
	"campuspay/app/server/servertest"
	"campuspay/store"
	"campuspay/store/storetest"
)

// BenchmarkDashboards1M times every dashboard page at the scale of issue 13 (item 2) on
// MariaDB: 1,000,000 paid orders (one bill, line and payment each, paid evenly over the
// last 120 days, 2 channels) of which 900,000 pay bills of one item, BENCH-1M, that has
// 100,000 unpaid bills besides (1,000,000 bills, each of its own payer); the other 100,000
// pay 20 other items across the 5 demo departments, which also have 100,000 unpaid bills.
//
//	CAMPUSPAY_BENCH_DASHBOARD=1 CAMPUSPAY_TEST_MYSQL='root@tcp(127.0.0.1:3306)/test' \
//	  go test ./app/console/ -run '^$' -bench BenchmarkDashboards1M -benchtime 20x -timeout 60m
//
// Seeding takes a few minutes (INSERT … SELECT from MariaDB's seq_1_to_N tables, in
// chunks); the triggers on bills log a delta per bill, which are folded once as the job
// would, and the daily snapshot is written as its job would. Before anything is timed, the
// figures are checked against sums over the rows themselves (the item totals against the
// bills, the headline figures against the payments and the unpaid bills, the item's days
// against the join of its lines and orders), and every timed page is checked to show them:
// a fast page with a wrong figure fails instead of being measured.
//
// Each page and each data function is a sub-benchmark of its own, so each gets its own
// ns/op: the finance and the leadership dashboard (/console), their polled strip
// (/console/dashboard/stats), each chart fragment, the finance dashboard's reconciliation
// card, and BENCH-1M's progress page (/console/items/:id/progress); the department
// dashboard of BENCH-1M's department (dept_jwc) too.
func BenchmarkDashboards1M(b *testing.B) {
	if os.Getenv("CAMPUSPAY_BENCH_DASHBOARD") != "1" || os.Getenv(storetest.EnvMySQL) == "" {
		b.Skip("set CAMPUSPAY_BENCH_DASHBOARD=1 and " + storetest.EnvMySQL)
	}
	p := servertest.Start(b, servertest.Options{MySQL: true, Demo: true})
	ctx := context.Background()
	start := time.Now()
	big := stSeed1M(b, p, 1_000_000, 100_000, 100_000)
	b.Logf("seeded 1,000,000 paid orders, a 1,000,000-bill item and 100,000 more unpaid bills in %v", time.Since(start).Round(time.Second))

	start = time.Now()
	folded, err := p.Reports.FoldItemTotals(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("fold job, first run: %d item deltas in %v", folded, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	n, err := p.Reports.RefreshStats(ctx, 130)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("snapshot job, first run: %d days in %v", n, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	n, _ = p.Reports.RefreshStats(ctx, 130)
	b.Logf("snapshot job, a later run: %d days in %v", n, time.Since(start).Round(time.Millisecond))

	fin := p.NewBrowser(b)
	fin.Login("finance", "finance123456")
	lead := p.NewBrowser(b)
	lead.Login("leader", "leader123456")
	dept := p.NewBrowser(b)
	dept.Login("dept_jwc", "dept123456")
	want := stCheckFigures(b, p, big)

	today := p.Reports.Today()
	term := reports.TermOf(today).First
	funcs := []struct {
		name string
		fn   func() error
	}{
		{"Overview", func() error { _, err := p.Reports.Overview(ctx, nil); return err }},
		{"OverviewDept", func() error { _, err := p.Reports.Overview(ctx, &big.DepartmentID); return err }},
		{"DailyCollected30", func() error { _, err := p.Reports.DailyCollected(ctx, nil, 30); return err }},
		{"ByDepartment", func() error { _, err := p.Reports.CollectedByDepartment(ctx, nil, term, today); return err }},
		{"ByChannel", func() error { _, err := p.Reports.CollectedByChannel(ctx, nil, term, today); return err }},
		{"TopOutstanding", func() error { _, err := p.Reports.TopOutstandingItems(ctx, nil, 10); return err }},
		{"CollectionByItem", func() error { _, err := p.Reports.CollectionByItem(ctx, nil, 8); return err }},
		{"ItemProgress1M", func() error { _, err := p.Reports.ItemProgress(ctx, big.ID); return err }},
		{"ItemProgressDays1M", func() error { _, err := p.Reports.ItemProgressDays(ctx, big.ID, 90); return err }},
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

	progress := fmt.Sprintf("/console/items/%d/progress", big.ID)
	pages := []struct {
		name, path string
		who        *servertest.Browser
		htmx       bool
		shows      []string // what the page must show
	}{
		{"finance GET /console", "/console", fin, false, append([]string{"财务看板"}, want.strip...)},
		{"leader GET /console", "/console", lead, false, append([]string{"领导看板"}, want.strip...)},
		{"finance GET /console/dashboard/stats", "/console/dashboard/stats", fin, true, want.strip},
		{"leader GET /console/dashboard/stats", "/console/dashboard/stats", lead, true, want.strip},
		{"dept GET /console", "/console", dept, false, append([]string{"部门看板"}, want.deptStrip...)},
		{"dept GET /console/dashboard/stats", "/console/dashboard/stats", dept, true, want.deptStrip},
		{"GET /console/charts/trend", "/console/charts/trend", fin, true, nil},
		{"GET /console/charts/departments", "/console/charts/departments", fin, true, nil},
		{"GET /console/charts/channels", "/console/charts/channels", fin, true, nil},
		{"GET /console/charts/outstanding", "/console/charts/outstanding", fin, true, []string{big.Name}},
		{"GET /console/charts/progress", "/console/charts/progress", fin, true, []string{big.Name}},
		{"GET /console/recon/status", "/console/recon/status", fin, true, nil},
		{"GET /console/items/:id/progress (1,000,000 bills)", progress, fin, false, want.progress},
		{"dept GET /console/items/:id/progress (1,000,000 bills)", progress, dept, false, want.progress},
	}
	for _, pg := range pages {
		code, body, _ := pg.who.Do("GET", pg.path, nil, pg.htmx)
		if code != http.StatusOK {
			b.Fatalf("%s: GET %s = %d", pg.name, pg.path, code)
		}
		for _, s := range pg.shows {
			if !strings.Contains(body, s) {
				b.Fatalf("%s: the page does not show %q", pg.name, s)
			}
		}
	}
	for _, pg := range pages {
		b.Run(pg.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if code, _, _ := pg.who.Do("GET", pg.path, nil, pg.htmx); code != http.StatusOK {
					b.Fatalf("GET %s = %d", pg.path, code)
				}
			}
		})
	}
}

// stWant is what the timed pages must show, from sums over the rows themselves.
type stWant struct {
	strip     []string // the headline strip's figures
	deptStrip []string // the big item's department's
	progress  []string // the 1,000,000-bill item's progress page's
}

// stCheckFigures compares the dashboards' figures with sums taken straight from bills and
// payments, and returns how the pages must show them.
func stCheckFigures(b *testing.B, p *servertest.Platform, big *store.ChargeItem) stWant {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	scan := func(dest any, q string, args ...any) {
		b.Helper()
		if err := p.DB.QueryRowContext(ctx, q, args...).Scan(dest.([]any)...); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}

	// The item totals against a fresh sum over the item's bills.
	var fresh reports.ItemProgress
	scan([]any{&fresh.Bills, &fresh.InternalPayers, &fresh.ExternalPayers, &fresh.DueFen, &fresh.PaidFen, &fresh.RefundedFen,
		&fresh.OutstandingFen, &fresh.UnpaidBills, &fresh.PaidBills},
		`SELECT COUNT(*), COUNT(DISTINCT payer_id), COUNT(DISTINCT CASE WHEN payer_id IS NULL THEN payer_phone END),
		        SUM(amount_due_fen), SUM(amount_paid_fen), SUM(amount_refunded_fen),
		        SUM(CASE WHEN status IN ('unpaid', 'partial') THEN amount_due_fen - amount_paid_fen ELSE 0 END),
		        SUM(status IN ('unpaid', 'partial')), SUM(status IN ('paid', 'refunded'))
		 FROM bills WHERE item_id = ? AND status <> 'cancelled'`, big.ID)
	if fresh.Bills != 1_000_000 || fresh.Payers() != 1_000_000 {
		b.Fatalf("the big item has %d bills of %d payers, want 1,000,000 of 1,000,000", fresh.Bills, fresh.Payers())
	}
	got, err := p.Reports.ItemProgress(ctx, big.ID)
	if err != nil {
		b.Fatal(err)
	}
	if *got != fresh {
		b.Fatalf("item progress %+v, the bills add up to %+v", *got, fresh)
	}
	items, err := p.Reports.CollectionByItem(ctx, nil, 30)
	if err != nil {
		b.Fatal(err)
	}
	if len(items) == 0 || items[0].ID != big.ID {
		b.Fatalf("item chart %+v does not lead with the big item", items)
	}
	for _, it := range items {
		var due, paid, owed, bills int64
		scan([]any{&bills, &due, &paid, &owed}, `SELECT COUNT(*), SUM(amount_due_fen), SUM(amount_paid_fen),
			SUM(CASE WHEN status IN ('unpaid', 'partial') THEN amount_due_fen - amount_paid_fen ELSE 0 END)
			FROM bills WHERE item_id = ? AND status <> 'cancelled'`, it.ID)
		if it.Bills != bills || it.DueFen != due || it.PaidFen != paid || it.OutstandingFen != owed {
			b.Fatalf("item chart %s: %+v, its bills add up to %d bills, due %d, paid %d, owed %d", it.Code, it, bills, due, paid, owed)
		}
	}
	// The item's days against its payments' lines, day by day.
	days, err := p.Reports.ItemProgressDays(ctx, big.ID, 90)
	if err != nil {
		b.Fatal(err)
	}
	rows, err := p.DB.QueryContext(ctx, `SELECT DATE_FORMAT(p.paid_at + INTERVAL 8 HOUR, '%Y-%m-%d') AS d, COUNT(*),
		SUM(CASE WHEN p.credited_fen = 0 THEN 0 ELSE ol.amount_fen - COALESCE(op.amount_fen, 0) END)
		FROM bills AS b JOIN order_lines AS ol ON ol.bill_id = b.id JOIN payments AS p ON p.order_id = ol.order_id
		LEFT JOIN overpayments AS op ON op.payment_id = p.id AND op.bill_id = ol.bill_id
		WHERE b.item_id = ? GROUP BY d ORDER BY d DESC LIMIT 90`, big.ID)
	if err != nil {
		b.Fatal(err)
	}
	var daysFen int64
	i := 0
	for ; rows.Next(); i++ {
		var d reports.ProgressDay
		if err := rows.Scan(&d.Day, &d.Lines, &d.AmountFen); err != nil {
			b.Fatal(err)
		}
		if i >= len(days) || days[i] != d {
			b.Fatalf("item progress day %d: %+v, the lines add up to %+v", i, days[min(i, len(days)-1)], d)
		}
		daysFen += d.AmountFen
	}
	rows.Close()
	if i != len(days) || i != 90 {
		b.Fatalf("item progress has %d days, the lines %d, want 90", len(days), i)
	}

	// The headline figures, the school's and the big item's department's, against the
	// payments and the unpaid bills.
	strip := map[bool][]string{}
	for _, dept := range []bool{false, true} {
		var scope *int64
		join, where, items := "", "", "SELECT id FROM charge_items"
		if dept {
			scope = &big.DepartmentID
			// From the payments by time to their items (MariaDB would otherwise start from
			// the department's items and walk a million bills).
			join = " STRAIGHT_JOIN bills AS b ON b.id = ol.bill_id STRAIGHT_JOIN charge_items AS ci ON ci.id = b.item_id"
			where = fmt.Sprintf(" AND ci.department_id = %d", big.DepartmentID)
			items = fmt.Sprintf("SELECT id FROM charge_items WHERE department_id = %d", big.DepartmentID)
		}
		o, err := p.Reports.Overview(ctx, scope)
		if err != nil {
			b.Fatal(err)
		}
		var termFen, termLines, owedFen, owed int64
		scan([]any{&termLines, &termFen}, `SELECT COUNT(*),
			COALESCE(SUM(CASE WHEN p.credited_fen = 0 THEN 0 ELSE ol.amount_fen - COALESCE(op.amount_fen, 0) END), 0)
			FROM payments AS p STRAIGHT_JOIN order_lines AS ol ON ol.order_id = p.order_id`+join+`
			LEFT JOIN overpayments AS op ON op.payment_id = p.id AND op.bill_id = ol.bill_id
			WHERE p.paid_at >= ? - INTERVAL 8 HOUR`+where, o.Term.First)
		scan([]any{&owed, &owedFen}, `SELECT COUNT(*), COALESCE(SUM(amount_due_fen - amount_paid_fen), 0) FROM bills
			WHERE status IN ('unpaid', 'partial') AND item_id IN (`+items+`)`)
		if o.TermToDate.CollectedFen != termFen || o.TermToDate.Count != termLines || o.OutstandingFen != owedFen || o.Outstanding != owed {
			b.Fatalf("headline figures (department %v): term %d fen in %d, owed %d fen on %d bills; the rows add up to %d in %d, %d on %d",
				dept, o.TermToDate.CollectedFen, o.TermToDate.Count, o.OutstandingFen, o.Outstanding, termFen, termLines, owedFen, owed)
		}
		strip[dept] = []string{money.Format(termFen), fmt.Sprintf("%d 笔 · 自 %s</a>", termLines, o.Term.First.Format("2006-01-02")),
			money.Format(owedFen), fmt.Sprintf("%d 笔款项未缴清", owed)}
	}
	b.Logf("figures checked against the rows in %v", time.Since(start).Round(time.Millisecond))
	return stWant{
		strip: strip[false], deptStrip: strip[true],
		progress: []string{money.Format(fresh.DueFen), money.Format(fresh.PaidFen), money.Format(fresh.OutstandingFen),
			fmt.Sprintf("%d 笔账单 · %d 名缴费人", fresh.Bills, fresh.Payers()), money.Format(daysFen)},
	}
}

// stSeed1M writes paid orders (bill, order, line, payment) and unpaid bills straight into
// the database with explicit ids above those the demo uses, and returns the big item:
// paid order n pays a bill of the big item unless n is a multiple of 10, then one of the
// 20 others; the big item gets bigUnpaid unpaid bills besides, the others unpaid between
// them. Each of the big item's bills has a payer of its own.
func stSeed1M(b *testing.B, p *servertest.Platform, paid, bigUnpaid, unpaid int) *store.ChargeItem {
	b.Helper()
	ctx := context.Background()
	exec := func(q string, args ...any) {
		b.Helper()
		if _, err := p.DB.ExecContext(ctx, q, args...); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
	// 20 items over the 5 demo departments: the 5 demo items and 15 more; and the big one.
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
	big := &store.ChargeItem{Code: "BENCH-1M", Name: "压测百万账单项目", DepartmentID: depts[1].ID, // 教务处, dept_jwc's
		Category: "fee", Audience: store.AudienceInternal, Pricing: store.PricingPerBill, Status: store.ItemApproved, CreatedAt: now, UpdatedAt: now}
	if _, err := p.DB.NewInsert().Model(big).Exec(ctx); err != nil {
		b.Fatal(err)
	}

	const base = 10_000_000
	const chunk = 100_000
	// One clock for every statement: a bill, its order and its payment are paid at the same
	// instant, whichever statement wrote them.
	seedNow := time.Now().UTC().Add(-time.Minute).Format("2006-01-02 15:04:05.000000")
	payers := paid // payer base+n holds paid bill n; the big item's unpaid bill k is payer base+10k's
	for lo := 1; lo <= payers; lo += chunk {
		hi := min(lo+chunk-1, payers)
		exec(fmt.Sprintf(`INSERT INTO users (id, login, name, roles, payer_no, created_at, updated_at)
			SELECT ? + seq, CONCAT('bench', seq), '压测缴费人', 'payer', CONCAT('B', seq), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)
			FROM seq_%d_to_%d`, lo, hi), base)
	}
	// A paid order n: amount 100.00–299.99, paid at evenly spaced times over the last 120
	// days, in the order of their ids (as a live system writes them).
	for lo := 1; lo <= paid; lo += chunk {
		hi := min(lo+chunk-1, paid)
		rng := fmt.Sprintf("seq_%d_to_%d", lo, hi)
		ts := fmt.Sprintf("(TIMESTAMP '%s' - INTERVAL FLOOR((%d - s.seq) * %f) SECOND)", seedNow, paid, 120*86400/float64(paid))
		amount := "(10000 + (s.seq * 7919) % 20000)"
		exec(`INSERT INTO bills (id, bill_no, source, source_client, item_id, payer_id, payer_type, payer_name, amount_due_fen,
			amount_paid_fen, status, created_at, updated_at, paid_at)
			SELECT ? + s.seq, CONCAT('BENCH', s.seq), 'import', 'bench', IF(s.seq % 10 = 0, bi.id, ?), ? + s.seq, 'internal', '压测缴费人', `+amount+`,
			`+amount+`, 'paid', `+ts+`, `+ts+`, `+ts+` FROM `+rng+` AS s JOIN bench_items AS bi ON bi.k = (s.seq DIV 10) % 20`, base, big.ID, base)
		exec(`INSERT INTO orders (id, order_no, payer_id, payer_name, channel, total_fen, status, expires_at, paid_at, created_at, updated_at)
			SELECT ? + s.seq, CONCAT('B', s.seq), ? + s.seq, '压测缴费人', IF(s.seq % 3 = 0, 'sandbox', 'campuscard'), `+amount+`,
			'paid', `+ts+`, `+ts+`, `+ts+`, `+ts+` FROM `+rng+` AS s`, base, base)
		exec(`INSERT INTO order_lines (order_id, bill_id, amount_fen) SELECT ? + s.seq, ? + s.seq, `+amount+` FROM `+rng+` AS s`, base, base)
		exec(`INSERT INTO payments (order_id, channel, trade_no, amount_fen, credited_fen, late, paid_at, created_at)
			SELECT ? + s.seq, IF(s.seq % 3 = 0, 'sandbox', 'campuscard'), CONCAT('BT', s.seq), `+amount+`, `+amount+`, FALSE, `+ts+`, `+ts+`
			FROM `+rng+` AS s`, base)
	}
	exec(fmt.Sprintf(`INSERT INTO bills (id, bill_no, source, source_client, item_id, payer_id, payer_type, payer_name, amount_due_fen,
		status, created_at, updated_at)
		SELECT ? + s.seq, CONCAT('BENCHB', s.seq), 'import', 'bench', ?, ? + 10 * s.seq, 'internal', '压测缴费人', 50000,
		'unpaid', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) FROM seq_1_to_%d AS s`, bigUnpaid),
		base+paid, big.ID, base)
	exec(fmt.Sprintf(`INSERT INTO bills (id, bill_no, source, source_client, item_id, payer_id, payer_type, payer_name, amount_due_fen,
		status, created_at, updated_at)
		SELECT ? + s.seq, CONCAT('BENCHU', s.seq), 'import', 'bench', bi.id, ? + s.seq %% 100, 'internal', '压测缴费人', 50000,
		'unpaid', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) FROM seq_1_to_%d AS s JOIN bench_items AS bi ON bi.k = s.seq %% 20`, unpaid),
		base+paid+bigUnpaid, base+1)
	exec("ANALYZE TABLE users, bills, orders, order_lines, payments")
	return big
}
