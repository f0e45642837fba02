package reports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/bizday"
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

// ItemProgress adds up an item's bills. The caller has checked the item is in scope. Every
// figure, the distinct payers included, comes from the maintained item totals (totals.go),
// not a read of the item's bills.
func (s *Service) ItemProgress(ctx context.Context, itemID int64) (*ItemProgress, error) {
	p := new(ItemProgress)
	err := s.DB.NewSelect().TableExpr(itemTotalsSQL+" AS it").
		ColumnExpr("it.bills, it.due_fen, it.paid_fen, it.refunded_fen, it.outstanding_fen, it.unpaid_bills, it.paid_bills").
		ColumnExpr("it.internal_payers, it.external_payers").
		Where("it.item_id = ?", itemID).Scan(ctx, p)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("reports: item progress: %w", err)
	}
	return p, nil
}

// ItemProgressDays is what an item collected per day (Asia/Shanghai), newest first, for at
// most the last `days` days that saw money. A day's figures are the payment search's for
// the item and that day, as on the dashboards: the bills its payments credited and the
// money they credited (less what became an overpayment), so that the days add up to
// ItemProgress.PaidFen. Closed days come from the daily snapshot (stats_daily, which holds
// item by item what the search gives), today and any day without a snapshot from the
// payments themselves: a payment shows at once, and a 1,000,000-bill item's page reads a
// row per day and channel instead of joining every one of its bills to its orders.
func (s *Service) ItemProgressDays(ctx context.Context, itemID int64, days int) ([]ProgressDay, error) {
	// The days run from the first payment of all to the last (two ends of an index), or
	// today: a company's clock a little ahead of ours may stamp a payment tomorrow.
	var first, last time.Time
	err := s.DB.NewSelect().Model((*store.Payment)(nil)).Column("paid_at").OrderExpr("paid_at").Limit(1).Scan(ctx, &first)
	if err == nil {
		err = s.DB.NewSelect().Model((*store.Payment)(nil)).Column("paid_at").OrderExpr("paid_at DESC").Limit(1).Scan(ctx, &last)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reports: item progress by day: %w", err)
	}
	to := bizday.DayOf(last)
	if today := bizday.DayOf(s.now()); to.Before(today) {
		to = today
	}
	groups, err := s.collected(ctx, statScope{item: itemID, ahead: true}, bizday.DayOf(first), to, byDay)
	if err != nil {
		return nil, fmt.Errorf("reports: item progress by day: %w", err)
	}
	rows := make([]ProgressDay, 0, len(groups))
	for _, g := range groups {
		if g.Count != 0 || g.CollectedFen != 0 {
			rows = append(rows, ProgressDay{Day: g.Key, Lines: int(g.Count), AmountFen: g.CollectedFen})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Day > rows[j].Day })
	if len(rows) > days {
		rows = rows[:days]
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
