package rush

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/reports"
	"campuspay/store"
)

// Histogram keeps every latency of a step (a run has at most a few hundred thousand).
type Histogram struct {
	mu sync.Mutex
	ds []time.Duration
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{} }

// Add records one latency.
func (h *Histogram) Add(d time.Duration) {
	h.mu.Lock()
	h.ds = append(h.ds, d)
	h.mu.Unlock()
}

// Count is how many latencies were recorded.
func (h *Histogram) Count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ds)
}

// Quantile returns the q-quantile (0 < q ≤ 1), nearest rank.
func (h *Histogram) Quantile(q float64) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.ds) == 0 {
		return 0
	}
	slices.Sort(h.ds)
	i := int(q*float64(len(h.ds))+0.5) - 1
	return h.ds[max(0, min(i, len(h.ds)-1))]
}

// Max is the slowest latency.
func (h *Histogram) Max() time.Duration { return h.Quantile(1) }

// Before is what the dashboard showed before the run.
type Before struct {
	TermCollectedFen, TodayCollectedFen int64
}

// Snapshot reads the finance dashboard's headline figures (reports.Overview, school-wide).
func Snapshot(ctx context.Context, db *bun.DB) (Before, error) {
	o, err := (&reports.Service{DB: db}).Overview(ctx, nil)
	if err != nil {
		return Before{}, err
	}
	return Before{TermCollectedFen: o.TermToDate.CollectedFen, TodayCollectedFen: o.Today.CollectedFen}, nil
}

// Invariant is one check and what it found.
type Invariant struct {
	Name string
	OK   bool
	Got  string
}

// Invariants are the checks of a run.
type Invariants []Invariant

// OK says whether every check held.
func (v Invariants) OK() bool {
	for _, i := range v {
		if !i.OK {
			return false
		}
	}
	return true
}

// Report writes each check.
func (v Invariants) Report(w io.Writer) {
	for _, i := range v {
		mark := "ok  "
		if !i.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %-40s %s\n", mark, i.Name, i.Got)
	}
}

// Check verifies the money after a run of payers rush payers, all of whom should have paid:
// every rush bill paid exactly once and never over-credited, one payment per paid order
// credited in full, one receipt per bill and the receipt numbers gapless, no overpayment,
// and the dashboard's collected figure grown by exactly the payments.
func Check(ctx context.Context, db *bun.DB, before Before, payers int) (Invariants, error) {
	var v Invariants
	add := func(name string, ok bool, format string, args ...any) {
		v = append(v, Invariant{Name: name, OK: ok, Got: fmt.Sprintf(format, args...)})
	}
	rushBills := db.NewSelect().TableExpr("bills AS b").Join("JOIN users AS u ON u.id = b.payer_id").
		Where("u.login LIKE ?", Prefix+"%")

	var bills struct {
		N, Paid, Over   int64
		DueFen, PaidFen int64
	}
	err := rushBills.ColumnExpr("COUNT(*) AS n").
		ColumnExpr("COALESCE(SUM(CASE WHEN b.status = ? AND b.amount_paid_fen = b.amount_due_fen THEN 1 ELSE 0 END), 0) AS paid", store.BillPaid).
		ColumnExpr("COALESCE(SUM(CASE WHEN b.amount_paid_fen > b.amount_due_fen THEN 1 ELSE 0 END), 0) AS over_n").
		ColumnExpr("COALESCE(SUM(b.amount_due_fen), 0) AS due_fen, COALESCE(SUM(b.amount_paid_fen), 0) AS paid_fen").
		Scan(ctx, &bills.N, &bills.Paid, &bills.Over, &bills.DueFen, &bills.PaidFen)
	if err != nil {
		return nil, fmt.Errorf("rush: bills: %w", err)
	}
	add("every rush bill paid in full", bills.N == int64(2*payers) && bills.Paid == bills.N,
		"%d of %d bills paid (want %d)", bills.Paid, bills.N, 2*payers)
	var overAll int64
	if err := db.NewSelect().TableExpr("bills").ColumnExpr("COUNT(*)").Where("amount_paid_fen > amount_due_fen").Scan(ctx, &overAll); err != nil {
		return nil, err
	}
	add("no bill over-credited", bills.Over == 0 && overAll == 0 && bills.PaidFen == bills.DueFen,
		"%d over-credited (all bills: %d); paid ¥%d of ¥%d due", bills.Over, overAll, bills.PaidFen/100, bills.DueFen/100)

	// Payments of the rush payers' orders.
	var pay struct{ Orders, PaidOrders, Payments, Multi, AmountFen, CreditedFen int64 }
	rushOrders := db.NewSelect().TableExpr("orders AS o").Join("JOIN users AS u ON u.id = o.payer_id").Where("u.login LIKE ?", Prefix+"%")
	if err := rushOrders.ColumnExpr("COUNT(*), COALESCE(SUM(CASE WHEN o.status = ? THEN 1 ELSE 0 END), 0)", store.OrderPaid).
		Scan(ctx, &pay.Orders, &pay.PaidOrders); err != nil {
		return nil, fmt.Errorf("rush: orders: %w", err)
	}
	perOrder := db.NewSelect().TableExpr("payments AS p").Join("JOIN orders AS o ON o.id = p.order_id").
		Join("JOIN users AS u ON u.id = o.payer_id").Where("u.login LIKE ?", Prefix+"%").
		ColumnExpr("p.order_id, COUNT(*) AS n, SUM(p.amount_fen) AS amount_fen, SUM(p.credited_fen) AS credited_fen").Group("p.order_id")
	if err := db.NewSelect().TableExpr("(?) AS t", perOrder).
		ColumnExpr("COALESCE(SUM(n), 0), COALESCE(SUM(CASE WHEN n > 1 THEN 1 ELSE 0 END), 0), COALESCE(SUM(amount_fen), 0), COALESCE(SUM(credited_fen), 0)").
		Scan(ctx, &pay.Payments, &pay.Multi, &pay.AmountFen, &pay.CreditedFen); err != nil {
		return nil, fmt.Errorf("rush: payments: %w", err)
	}
	add("every payment credited once", pay.Payments == int64(payers) && pay.PaidOrders == int64(payers) && pay.Multi == 0 &&
		pay.CreditedFen == pay.AmountFen && pay.CreditedFen == bills.PaidFen,
		"%d payments for %d paid orders (%d orders), %d orders paid twice; credited ¥%d of ¥%d paid, bills ¥%d",
		pay.Payments, pay.PaidOrders, pay.Orders, pay.Multi, pay.CreditedFen/100, pay.AmountFen/100, bills.PaidFen/100)
	var overpaid int64
	if err := db.NewSelect().Model((*store.Overpayment)(nil)).ColumnExpr("COUNT(*)").Scan(ctx, &overpaid); err != nil {
		return nil, err
	}
	add("no overpayment", overpaid == 0, "%d overpayments", overpaid)

	// Receipts: one per rush bill, and every year's numbers 1…n without a gap or a repeat.
	var rc struct{ N, Bills, Multi int64 }
	perBill := db.NewSelect().TableExpr("receipts AS r").Join("JOIN bills AS b ON b.id = r.bill_id").
		Join("JOIN users AS u ON u.id = b.payer_id").Where("u.login LIKE ?", Prefix+"%").Where("r.voided = ?", false).
		ColumnExpr("r.bill_id, COUNT(*) AS n").Group("r.bill_id")
	if err := db.NewSelect().TableExpr("(?) AS t", perBill).
		ColumnExpr("COALESCE(SUM(n), 0), COUNT(*), COALESCE(SUM(CASE WHEN n > 1 THEN 1 ELSE 0 END), 0)").
		Scan(ctx, &rc.N, &rc.Bills, &rc.Multi); err != nil {
		return nil, fmt.Errorf("rush: receipts: %w", err)
	}
	add("one receipt per bill", rc.N == int64(2*payers) && rc.Bills == int64(2*payers) && rc.Multi == 0,
		"%d receipts for %d bills, %d bills with two", rc.N, rc.Bills, rc.Multi)
	var years []struct {
		Year     int   `bun:"year"`
		N        int64 `bun:"n"`
		Distinct int64 `bun:"d"`
		Lo       int64 `bun:"lo"`
		Hi       int64 `bun:"hi"`
		Pending  int64 `bun:"unnumbered"`
	}
	// Receipts are numbered moments after their payment commits (app/billing/numbering.go):
	// a receipt still unnumbered here counts against "gapless" (COUNT(*) against COUNT(DISTINCT
	// seq)), and is named in the message.
	if err := db.NewSelect().TableExpr("receipts").
		ColumnExpr("year, COUNT(*) AS n, COUNT(DISTINCT seq) AS d, COALESCE(MIN(seq), 0) AS lo, COALESCE(MAX(seq), 0) AS hi, COUNT(*) - COUNT(seq) AS unnumbered").
		Group("year").Scan(ctx, &years); err != nil {
		return nil, fmt.Errorf("rush: receipt numbers: %w", err)
	}
	gapless, got := true, ""
	for _, y := range years {
		var last int64
		if err := db.NewSelect().Model((*store.ReceiptSequence)(nil)).Column("last_no").Where("year = ?", y.Year).Scan(ctx, &last); err != nil {
			return nil, fmt.Errorf("rush: receipt sequence %d: %w", y.Year, err)
		}
		ok := y.N == y.Distinct && y.Lo == 1 && y.Hi == y.N && last == y.Hi
		gapless = gapless && ok
		got += fmt.Sprintf("%d: %d receipts, numbers %d…%d, %d distinct, %d unnumbered, sequence at %d; ", y.Year, y.N, y.Lo, y.Hi, y.Distinct, y.Pending, last)
	}
	add("receipt numbers gapless", gapless && len(years) > 0, "%s", got)

	// The dashboard (finance's and leadership's headline figures) grew by the payments.
	after, err := Snapshot(ctx, db)
	if err != nil {
		return nil, err
	}
	grew := after.TermCollectedFen - before.TermCollectedFen
	add("dashboard equals the payments", grew == pay.AmountFen,
		"term to date grew ¥%d (today ¥%d), payments ¥%d", grew/100, (after.TodayCollectedFen-before.TodayCollectedFen)/100, pay.AmountFen/100)
	return v, nil
}
