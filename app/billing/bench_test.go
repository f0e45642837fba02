package billing_test

// Benchmarks of issue 2 (a): payment completions per second, and the ceiling the same row
// work reaches in hand-written SQL. See docs/PERFORMANCE.md for how to run them and what
// they measured.
//
//	CAMPUSPAY_TEST_MYSQL='root@tcp(127.0.0.1:3306)/' \
//	  go test ./app/billing -run '^$' -bench 'ApplyTrade|HandleNotification|BareSQLCeiling' -benchtime 3s

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"campuspay/app/bizday"
	"campuspay/store"
)

// benchParallelism is how many payments each core has in flight in the parallel runs
// (b.SetParallelism): 4 × GOMAXPROCS, so 8 concurrent payments on a 2-core machine —
// notifications of different orders arriving at once, as they do in the first hour of term.
const benchParallelism = 4

// BenchmarkApplyTrade applies one successful trade per iteration to a pre-created open
// order of two bills: payment row, order paid, two bills credited, two receipts written,
// audit row — one transaction; the receipts are numbered by the service's numberer in
// batches beside it, and the timer runs until every one has its number.
func BenchmarkApplyTrade(b *testing.B) {
	eachBenchDB(b, func(b *testing.B, f *benchFixture) {
		runPayments(b, f, func(ctx context.Context, o benchOrder) error {
			out, err := f.Svc.ApplyTrade(ctx, "sandbox", o.trade)
			if err == nil && (out.Duplicate || out.CreditedFen != o.order.TotalFen || out.Receipts != 2) {
				err = fmt.Errorf("ApplyTrade(%s) = %+v, want %d credited on 2 receipts", o.order.OrderNo, out, o.order.TotalFen)
			}
			return err
		})
	})
}

// BenchmarkHandleNotification is the whole path from a signed notification of the sandbox
// company to credited bills: the real adapter verifies the HMAC signature and timestamp
// and parses the JSON, ApplyTrade applies it, and the raw notification is kept.
func BenchmarkHandleNotification(b *testing.B) {
	eachBenchDB(b, func(b *testing.B, f *benchFixture) {
		runPayments(b, f, func(ctx context.Context, o benchOrder) error {
			_, ack, err := f.Svc.HandleNotification(ctx, "sandbox", o.header, o.body, "127.0.0.1")
			if err == nil && string(ack) != "success" {
				err = fmt.Errorf("HandleNotification(%s) ack = %q, want success", o.order.OrderNo, ack)
			}
			return err
		})
	})
}

// BenchmarkBareSQLCeiling does the row work of ApplyTrade in hand-written SQL, one
// transaction per payment, no Go logic around it: the ceiling ApplyTrade is measured against.
func BenchmarkBareSQLCeiling(b *testing.B) {
	eachBenchDB(b, func(b *testing.B, f *benchFixture) {
		runPayments(b, f, f.barePayment)
	})
}

// runPayments times pay over b.N pre-created orders, one after the other ("serial") and
// with benchParallelism payments per core in flight ("parallel"), and reports payments/s.
func runPayments(b *testing.B, f *benchFixture, pay func(ctx context.Context, o benchOrder) error) {
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		orders := f.openOrders(b, b.N)
		b.ResetTimer()
		for _, o := range orders {
			if err := pay(ctx, o); err != nil {
				b.Fatal(err)
			}
		}
		f.numbered(b)
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payments/s")
		f.checkPaid(b, orders)
	})
	b.Run("parallel", func(b *testing.B) {
		orders := f.openOrders(b, b.N)
		var next atomic.Int64
		b.SetParallelism(benchParallelism)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := pay(ctx, orders[next.Add(1)-1]); err != nil {
					b.Error(err)
					return
				}
			}
		})
		f.numbered(b)
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payments/s")
		f.checkPaid(b, orders)
	})
}

// barePayment is ApplyTrade's row work for a full payment of a two-bill order, written by
// hand: lock the order, insert the payment, mark the order paid, credit and release both
// bills, bump the year's receipt sequence once for both receipts, insert the two receipts
// (payer, item and department names joined in by the INSERT itself), insert the audit row.
// The receipt sequence — the one row every payment writes — is taken as late as possible.
func (f *benchFixture) barePayment(ctx context.Context, o benchOrder) error {
	lock := "SELECT id, total_fen FROM orders WHERE order_no = ?"
	if store.DialectOf(f.DB) == store.MySQL {
		lock += " FOR UPDATE"
	}
	tx, err := f.raw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now, paidAt := store.UTC(time.Now()), store.UTC(o.trade.PaidAt)
	var orderID, total int64
	if err := tx.QueryRowContext(ctx, lock, o.order.OrderNo).Scan(&orderID, &total); err != nil {
		return fmt.Errorf("lock order: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO payments (order_id, channel, trade_no, amount_fen, credited_fen, late, paid_at, raw, created_at)
		VALUES (?, 'sandbox', ?, ?, ?, FALSE, ?, ?, ?)`, orderID, o.trade.TradeNo, total, total, paidAt, o.trade.Raw, now)
	if err != nil {
		return fmt.Errorf("insert payment: %w", err)
	}
	paymentID, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE orders SET status = 'paid', paid_at = ?, updated_at = ? WHERE id = ? AND status = 'open'", paidAt, now, orderID); err != nil {
		return fmt.Errorf("update order: %w", err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT bill_id, amount_fen FROM order_lines WHERE order_id = ? ORDER BY bill_id", orderID)
	if err != nil {
		return fmt.Errorf("lines: %w", err)
	}
	var lines [][2]int64
	for rows.Next() {
		var l [2]int64
		if err := rows.Scan(&l[0], &l[1]); err != nil {
			rows.Close()
			return err
		}
		lines = append(lines, l)
	}
	rows.Close()
	for _, l := range lines {
		if _, err := tx.ExecContext(ctx, `UPDATE bills SET amount_paid_fen = amount_paid_fen + ?, status = 'paid', paid_at = ?,
			held_by_order_id = NULL, held_until = NULL, version = version + 1, updated_at = ? WHERE id = ?`, l[1], paidAt, now, l[0]); err != nil {
			return fmt.Errorf("credit bill: %w", err)
		}
	}
	year := paidAt.In(bizday.Shanghai).Year()
	if _, err := tx.ExecContext(ctx, "UPDATE receipt_sequences SET last_no = last_no + ? WHERE year = ?", len(lines), year); err != nil {
		return fmt.Errorf("receipt sequence: %w", err)
	}
	var last int64
	if err := tx.QueryRowContext(ctx, "SELECT last_no FROM receipt_sequences WHERE year = ?", year).Scan(&last); err != nil {
		return fmt.Errorf("receipt sequence: %w", err)
	}
	for i, l := range lines {
		seq := last - int64(len(lines)) + int64(i) + 1
		if _, err := tx.ExecContext(ctx, `INSERT INTO receipts (receipt_no, year, seq, bill_id, order_id, payment_id, payer_name, payer_no,
				item_name, department, amount_fen, channel, verify_token, issued_at)
			SELECT ?, ?, ?, b.id, ?, ?, b.payer_name, COALESCE(u.payer_no, ''), i.name, d.name, ?, 'sandbox', ?, ?
			FROM bills b JOIN charge_items i ON i.id = b.item_id JOIN departments d ON d.id = i.department_id
			LEFT JOIN users u ON u.id = b.payer_id WHERE b.id = ?`,
			fmt.Sprintf("%d%08d", year, seq), year, seq, orderID, paymentID, l[1], fmt.Sprintf("%s-%d", o.trade.TradeNo, i), now, l[0]); err != nil {
			return fmt.Errorf("insert receipt: %w", err)
		}
	}
	detail := fmt.Sprintf("trade=%s amount=%d credited=%d overpaid=0 late=false", o.trade.TradeNo, total, total)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_logs (at, actor, action, target_type, target_id, detail, ip)
		VALUES (?, 'channel:sandbox', 'payment.applied', 'order', ?, ?, '')`, now, o.order.OrderNo, detail); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return tx.Commit()
}
