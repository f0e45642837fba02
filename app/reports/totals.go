package reports

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/uptrace/bun"

	"campuspay/store"
)

// Item totals (issue 13): the sums of an item's bills that item progress and the
// dashboards' item chart show, kept as money moves instead of summed over every bill on
// every page.
//
// Triggers on bills (sql/*/0017_item_totals.sql) append one item_deltas row whenever a
// bill's item, amounts or status change: what the bill now adds to its item's sums less
// what it added before. Appending is an INSERT of a new row, so two payments of the same
// item never wait on each other (a per-item row updated inside the payment transaction
// would be a second hot row beside the receipt sequence, the one that limits payment
// throughput). The triggers catch every path that writes bills — payments, late payments
// and overpayments, refunds, offline collections, cancellations, imports and the API —
// without any of them knowing. The distinct payers of an item are kept the same way from
// item_payers (sql/*/0020_item_payers.sql), whose rows change only when a bill is made,
// cancelled, deleted or moved, never in a payment. FoldItemTotals (job fold-item-totals) adds the deltas into
// item_totals and deletes them in one transaction; itemTotalsSQL reads item_totals plus
// the deltas not yet folded in one statement, so a payment counts the moment it commits,
// whether or not the job has run.

// itemTotalsSQL is the maintained sums per item: item_totals plus the unfolded deltas.
const itemTotalsSQL = `(SELECT t.item_id, SUM(t.bills) AS bills, SUM(t.due_fen) AS due_fen, SUM(t.paid_fen) AS paid_fen,
	SUM(t.refunded_fen) AS refunded_fen, SUM(t.outstanding_fen) AS outstanding_fen,
	SUM(t.unpaid_bills) AS unpaid_bills, SUM(t.paid_bills) AS paid_bills,
	SUM(t.internal_payers) AS internal_payers, SUM(t.external_payers) AS external_payers
	FROM (SELECT item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills, internal_payers, external_payers FROM item_totals
	      UNION ALL
	      SELECT item_id, bills, due_fen, paid_fen, refunded_fen, outstanding_fen, unpaid_bills, paid_bills, internal_payers, external_payers FROM item_deltas) AS t
	GROUP BY t.item_id)`

// itemTotalsRow is one item's sums in item_totals (or a sum of its deltas).
type itemTotalsRow struct {
	bun.BaseModel  `bun:"table:item_totals"`
	ItemID         int64 `bun:"item_id,pk"`
	Bills          int64 `bun:"bills"`
	DueFen         int64 `bun:"due_fen"`
	PaidFen        int64 `bun:"paid_fen"`
	RefundedFen    int64 `bun:"refunded_fen"`
	OutstandingFen int64 `bun:"outstanding_fen"`
	UnpaidBills    int64 `bun:"unpaid_bills"`
	PaidBills      int64 `bun:"paid_bills"`
	InternalPayers int64 `bun:"internal_payers"`
	ExternalPayers int64 `bun:"external_payers"`
}

// FoldItemTotals adds the item deltas written so far into item_totals and deletes them,
// in one transaction, and returns how many deltas it folded. On MySQL the transaction is
// READ COMMITTED: its locking read of the deltas waits for any still uncommitted among
// them but takes no gap lock, so payments appending new deltas meanwhile never wait.
func (s *Service) FoldItemTotals(ctx context.Context) (int, error) {
	var maxID int64
	if err := s.DB.NewSelect().TableExpr("item_deltas").ColumnExpr("COALESCE(MAX(id), 0)").Scan(ctx, &maxID); err != nil {
		return 0, fmt.Errorf("reports: fold item totals: %w", err)
	}
	if maxID == 0 {
		return 0, nil
	}
	n := 0
	fold := func(ctx context.Context, tx bun.Tx) error {
		var ids []int64
		if err := store.ForUpdate(tx.NewSelect().TableExpr("item_deltas").Column("id").Where("id <= ?", maxID)).Scan(ctx, &ids); err != nil {
			return err
		}
		n = len(ids)
		if n == 0 {
			return nil
		}
		var sums []itemTotalsRow
		err := tx.NewSelect().TableExpr("item_deltas").
			ColumnExpr("item_id, SUM(bills) AS bills, SUM(due_fen) AS due_fen, SUM(paid_fen) AS paid_fen, SUM(refunded_fen) AS refunded_fen").
			ColumnExpr("SUM(outstanding_fen) AS outstanding_fen, SUM(unpaid_bills) AS unpaid_bills, SUM(paid_bills) AS paid_bills").
			ColumnExpr("SUM(internal_payers) AS internal_payers, SUM(external_payers) AS external_payers").
			Where("id <= ?", maxID).Group("item_id").Scan(ctx, &sums)
		if err != nil {
			return err
		}
		for i := range sums {
			d := &sums[i]
			res, err := tx.NewUpdate().Model(d).
				Set("bills = bills + ?", d.Bills).Set("due_fen = due_fen + ?", d.DueFen).
				Set("paid_fen = paid_fen + ?", d.PaidFen).Set("refunded_fen = refunded_fen + ?", d.RefundedFen).
				Set("outstanding_fen = outstanding_fen + ?", d.OutstandingFen).
				Set("unpaid_bills = unpaid_bills + ?", d.UnpaidBills).Set("paid_bills = paid_bills + ?", d.PaidBills).
				Set("internal_payers = internal_payers + ?", d.InternalPayers).Set("external_payers = external_payers + ?", d.ExternalPayers).
				WherePK().Exec(ctx)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 0 {
				if _, err := tx.NewInsert().Model(d).Exec(ctx); err != nil {
					return err
				}
			}
		}
		_, err = tx.NewDelete().TableExpr("item_deltas").Where("id <= ?", maxID).Exec(ctx)
		return err
	}
	var err error
	if store.DialectOf(s.DB) == store.MySQL {
		err = s.DB.RunInTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted}, fold)
	} else {
		err = store.InTx(ctx, s.DB, fold)
	}
	if err != nil {
		return 0, fmt.Errorf("reports: fold item totals: %w", err)
	}
	return n, nil
}
