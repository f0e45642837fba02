package reports

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/store"
)

// OfflineFilter narrows the list of offline collections.
type OfflineFilter struct {
	Method string    // cash | pos | deduction; "" all
	From   time.Time // collection days, both included; zero: open
	To     time.Time
	Q      string // a reference, payer number or name, or order number
	JobID  int64  // one import's rows; 0 all
}

// OfflineCollectionRow is an offline collection as the console lists it.
type OfflineCollectionRow struct {
	store.OfflineCollection `bun:",extend"`

	OrderNo    string `bun:"order_no"`
	BillNo     string `bun:"bill_no"`
	PayerName  string `bun:"payer_name"`
	PayerNo    string `bun:"payer_no"`
	ItemCode   string `bun:"item_code"`
	ItemName   string `bun:"item_name"`
	Department string `bun:"department"`
}

// OfflineTotals adds up every row a filter finds.
type OfflineTotals struct {
	Count     int   `bun:"n"`
	AmountFen int64 `bun:"amount_fen"`
}

func (s *Service) offlineQuery(f OfflineFilter) *bun.SelectQuery {
	q := s.DB.NewSelect().TableExpr("offline_collections AS oc").
		Join("JOIN orders AS o ON o.id = oc.order_id").
		Join("JOIN bills AS b ON b.id = oc.bill_id").
		Join("JOIN charge_items AS ci ON ci.id = b.item_id").
		Join("JOIN departments AS d ON d.id = ci.department_id").
		Join("LEFT JOIN users AS u ON u.id = b.payer_id")
	if f.Method != "" {
		q = q.Where("oc.method = ?", f.Method)
	}
	if !f.From.IsZero() {
		q = q.Where("oc.collected_on >= ?", f.From)
	}
	if !f.To.IsZero() {
		q = q.Where("oc.collected_on <= ?", f.To)
	}
	if f.JobID > 0 {
		q = q.Where("oc.import_job_id = ?", f.JobID)
	}
	if v := strings.TrimSpace(f.Q); v != "" {
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("oc.reference = ?", v).WhereOr("u.payer_no = ?", v).WhereOr("b.payer_name = ?", v).WhereOr("o.order_no = ?", v)
		})
	}
	return q
}

// OfflineCollections returns one page of offline collections, newest import first, and the
// totals of every row the filter finds.
func (s *Service) OfflineCollections(ctx context.Context, f OfflineFilter, offset, limit int) ([]OfflineCollectionRow, OfflineTotals, error) {
	var tot OfflineTotals
	if err := s.offlineQuery(f).ColumnExpr("COUNT(*) AS n, COALESCE(SUM(oc.amount_fen), 0) AS amount_fen").Scan(ctx, &tot); err != nil {
		return nil, tot, fmt.Errorf("reports: offline totals: %w", err)
	}
	var rows []OfflineCollectionRow
	err := s.offlineQuery(f).ColumnExpr("oc.*").
		ColumnExpr("o.order_no, b.bill_no, b.payer_name, COALESCE(u.payer_no, '') AS payer_no").
		ColumnExpr("ci.code AS item_code, ci.name AS item_name, d.name AS department").
		OrderExpr("oc.id DESC").Offset(int64(offset)).Limit(int64(limit)).Scan(ctx, &rows)
	if err != nil {
		return nil, tot, fmt.Errorf("reports: offline collections: %w", err)
	}
	return rows, tot, nil
}

// MethodLabel is the row's method as finance calls it.
func (r OfflineCollectionRow) MethodLabel() string { return billing.OfflineMethodLabel(r.Method) }

// OfflineMethodChoice is a method for a filter's options.
type OfflineMethodChoice struct{ Code, Label string }

// OfflineMethodChoices lists the methods with their labels.
func OfflineMethodChoices() []OfflineMethodChoice {
	out := make([]OfflineMethodChoice, len(billing.OfflineMethods))
	for i, m := range billing.OfflineMethods {
		out[i] = OfflineMethodChoice{m, billing.OfflineMethodLabel(m)}
	}
	return out
}
