package reports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/money"
	"campuspay/app/sheet"
	"campuspay/store"
)

// ItemProgress is how an item's collection stands. Every figure is an SQL aggregate over
// the item's bills (cancelled ones left out) and can be recomputed from them:
//
//	Bills           COUNT(*)
//	Payers          distinct payers: roster payers by id, off-campus payers by phone
//	DueFen          SUM(amount_due_fen)
//	PaidFen         SUM(amount_paid_fen)            (what was collected, before refunds)
//	RefundedFen     SUM(amount_refunded_fen)
//	OutstandingFen  SUM(amount_due_fen - amount_paid_fen) over unpaid and partly paid bills
type ItemProgress struct {
	Bills          int   `bun:"bills"`
	InternalPayers int   `bun:"internal_payers"`
	ExternalPayers int   `bun:"external_payers"`
	DueFen         int64 `bun:"due_fen"`
	PaidFen        int64 `bun:"paid_fen"`
	RefundedFen    int64 `bun:"refunded_fen"`
	OutstandingFen int64 `bun:"outstanding_fen"`
	UnpaidBills    int   `bun:"unpaid_bills"`
	PaidBills      int   `bun:"paid_bills"`
}

// Payers is how many distinct payers the item's bills name.
func (p *ItemProgress) Payers() int { return p.InternalPayers + p.ExternalPayers }

// Basis is the share of the amount due that was collected, in hundredths of a percent.
func (p *ItemProgress) Basis() int64 {
	if p.DueFen <= 0 {
		return 0
	}
	return min(p.PaidFen*10000/p.DueFen, 10000)
}

// Percent is the collected share as people read it: "37.50%".
func (p *ItemProgress) Percent() string {
	b := p.Basis()
	return fmt.Sprintf("%d.%02d%%", b/100, b%100)
}

// ProgressDay is what an item collected on one day (Asia/bizday.Shanghai).
type ProgressDay struct {
	Day       string `bun:"paid_day"` // 2006-01-02
	Lines     int    `bun:"line_count"`
	AmountFen int64  `bun:"amount_fen"`
}

// ItemProgress adds up an item's bills. The caller has checked the item is in scope. The
// sums come from the maintained item totals (totals.go); the distinct payers are counted
// over the bills.
func (s *Service) ItemProgress(ctx context.Context, itemID int64) (*ItemProgress, error) {
	p := new(ItemProgress)
	err := s.DB.NewSelect().TableExpr(itemTotalsSQL+" AS it").
		ColumnExpr("it.bills, it.due_fen, it.paid_fen, it.refunded_fen, it.outstanding_fen, it.unpaid_bills, it.paid_bills").
		Where("it.item_id = ?", itemID).Scan(ctx, p)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("reports: item progress: %w", err)
	}
	err = s.DB.NewSelect().Model((*store.Bill)(nil)).
		ColumnExpr("COUNT(DISTINCT payer_id) AS internal_payers").
		ColumnExpr("COUNT(DISTINCT CASE WHEN payer_id IS NULL THEN payer_phone END) AS external_payers").
		Where("item_id = ?", itemID).Where("status <> ?", store.BillCancelled).
		Scan(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("reports: item progress: %w", err)
	}
	return p, nil
}

// ItemProgressDays is what an item collected per day (Asia/bizday.Shanghai), newest first, for at
// most the last `days` days that saw money. A day's amount is what its paid orders credited
// to the item's bills: each order line less what of it became an overpayment (the bill was
// settled meanwhile), so that the days add up to ItemProgress.PaidFen.
func (s *Service) ItemProgressDays(ctx context.Context, itemID int64, days int) ([]ProgressDay, error) {
	// The join starts from the item's bills, whatever the optimizer thinks of the paid
	// orders of the whole platform (STRAIGHT_JOIN; CROSS JOIN keeps the order in SQLite).
	day, join := "date(o.paid_at, '+8 hours')", "CROSS JOIN"
	if store.DialectOf(s.DB) == store.MySQL {
		day, join = "DATE(DATE_ADD(o.paid_at, INTERVAL 8 HOUR))", "STRAIGHT_JOIN"
	}
	var rows []ProgressDay
	err := s.DB.NewSelect().TableExpr("bills AS b").
		Join(join+" order_lines AS ol ON ol.bill_id = b.id").
		Join(join+" orders AS o ON o.id = ol.order_id").
		Join("LEFT JOIN overpayments AS ov ON ov.order_id = ol.order_id AND ov.bill_id = ol.bill_id").
		ColumnExpr(day+" AS paid_day").
		ColumnExpr("COUNT(*) AS line_count").
		ColumnExpr("SUM(ol.amount_fen - COALESCE(ov.amount_fen, 0)) AS amount_fen").
		Where("b.item_id = ?", itemID).Where("o.status = ?", store.OrderPaid).
		GroupExpr("1").OrderExpr("1 DESC").Limit(int64(days)).
		Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("reports: item progress by day: %w", err)
	}
	for i := range rows {
		if len(rows[i].Day) > 10 {
			rows[i].Day = rows[i].Day[:10] // MySQL's DATE comes back as a timestamp
		}
	}
	return rows, nil
}

// UnpaidRow is one payer who still owes on an item.
type UnpaidRow struct {
	BillNo         string     `bun:"bill_no"`
	PayerNo        string     `bun:"payer_no"`
	PayerName      string     `bun:"payer_name"`
	PayerPhone     string     `bun:"payer_phone"`
	Unit           string     `bun:"unit"`
	ClassName      string     `bun:"class_name"`
	AmountDueFen   int64      `bun:"amount_due_fen"`
	AmountPaidFen  int64      `bun:"amount_paid_fen"`
	Status         string     `bun:"status"`
	DueDate        *time.Time `bun:"due_date"`
	OutstandingFen int64      `bun:"outstanding_fen"`
}

func (s *Service) unpaidQuery(itemID int64) *bun.SelectQuery {
	return s.DB.NewSelect().TableExpr("bills AS b").
		Join("LEFT JOIN users AS u ON u.id = b.payer_id").
		ColumnExpr("b.bill_no, COALESCE(u.payer_no, '') AS payer_no, b.payer_name, b.payer_phone").
		ColumnExpr("COALESCE(u.unit, '') AS unit, COALESCE(u.class_name, '') AS class_name").
		ColumnExpr("b.amount_due_fen, b.amount_paid_fen, b.status, b.due_date").
		ColumnExpr("b.amount_due_fen - b.amount_paid_fen AS outstanding_fen").
		Where("b.item_id = ?", itemID).
		Where("b.status IN (?)", bun.In([]store.BillStatus{store.BillUnpaid, store.BillPartial}))
}

// UnpaidPayers returns one page of the payers who still owe on an item (by bill, in the
// order they were loaded) and how many there are.
func (s *Service) UnpaidPayers(ctx context.Context, itemID int64, offset, limit int) ([]UnpaidRow, int, error) {
	var rows []UnpaidRow
	n, err := store.ScanAndCount(ctx, s.unpaidQuery(itemID).OrderExpr("b.id").Offset(int64(offset)).Limit(int64(limit)), &rows)
	if err != nil {
		return nil, 0, fmt.Errorf("reports: unpaid payers: %w", err)
	}
	return rows, int(n), nil
}

// UnpaidHeader is the header row of the unpaid payers export.
var UnpaidHeader = []string{"学号/工号", "姓名", "手机号", "单位", "班级", "应缴（元）", "已缴（元）", "欠缴（元）", "状态", "截止日期", "账单号"}

// ExportUnpaid writes the payers who still owe on an item to w as an Excel workbook,
// streaming the rows from the database to the sheet (nothing holds them all).
func (s *Service) ExportUnpaid(ctx context.Context, item *store.ChargeItem, w io.Writer) error {
	rows, err := s.unpaidQuery(item.ID).OrderExpr("b.id").Rows(ctx)
	if err != nil {
		return fmt.Errorf("reports: export unpaid: %w", err)
	}
	defer rows.Close()
	err = sheet.WriteXLSX(w, "未缴名单", UnpaidHeader, func(yield func([]any) error) error {
		for rows.Next() {
			var r UnpaidRow
			if err := s.DB.ScanRow(ctx, rows, &r); err != nil {
				return err
			}
			due := ""
			if r.DueDate != nil {
				due = r.DueDate.Format("2006-01-02")
			}
			if err := yield([]any{r.PayerNo, r.PayerName, r.PayerPhone, r.Unit, r.ClassName,
				money.Plain(r.AmountDueFen), money.Plain(r.AmountPaidFen), money.Plain(r.OutstandingFen),
				billing.BillStatusLabel(store.BillStatus(r.Status)), due, r.BillNo}); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("reports: export unpaid: %w", err)
	}
	return nil
}
