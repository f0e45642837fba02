package reports

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/bizday"
	"campuspay/app/fault"
	"campuspay/store"
)

// MaxExportRows is the most rows one search export writes.
const MaxExportRows = 500_000

// SearchFilter narrows a search. Every search also takes Scope, the only department the caller
// may see (nil: every department), so department staff see nothing of other departments.
type SearchFilter struct {
	Scope        *int64
	Payer        string // payer number (exact) or name (prefix)
	ItemID       int64
	DepartmentID int64
	Channel      string
	Status       string
	// From and To are business days (dates in Asia/bizday.Shanghai), both included; zero: open.
	From, To time.Time
}

// OrderSearch searches orders by creation day; an order matches when one of its lines
// matches the item and department filters, and its amount is what those lines add up to.
type OrderSearch struct{ SearchFilter }

// PaymentSearch searches collections: each payment split by the bills of its order, by the
// day it was paid. Status is "" (all), "credited", "late" or "overpaid".
type PaymentSearch struct{ SearchFilter }

// BillSearch searches bills by the day they were made; Channel keeps bills a payment through
// that channel paid.
type BillSearch struct{ SearchFilter }

// RefundSearch searches refunds by the day they were requested.
type RefundSearch struct{ SearchFilter }

// Payment search statuses.
const (
	PaymentCredited = "credited" // credited in full, on time
	PaymentLate     = "late"     // arrived after its order had closed
	PaymentOverpaid = "overpaid" // part or all of it went to no bill
)

// between adds "column within [From, To]" in business days.
func (f SearchFilter) between(q *bun.SelectQuery, column string) *bun.SelectQuery {
	if !f.From.IsZero() {
		q = q.Where(column+" >= ?", bizday.DayStart(f.From))
	}
	if !f.To.IsZero() {
		q = q.Where(column+" < ?", bizday.DayStart(f.To.AddDate(0, 0, 1)))
	}
	return q
}

// departments adds the scope and the department and item filters on charge_items ci.
func (f SearchFilter) departments(q *bun.SelectQuery) *bun.SelectQuery {
	if f.Scope != nil {
		q = q.Where("ci.department_id = ?", *f.Scope)
	}
	if f.DepartmentID > 0 {
		q = q.Where("ci.department_id = ?", f.DepartmentID)
	}
	if f.ItemID > 0 {
		q = q.Where("ci.id = ?", f.ItemID)
	}
	return q
}

// payer adds the payer filter: the number exactly, or the start of the name.
func (f SearchFilter) payer(q *bun.SelectQuery, numberCol, nameCol string) *bun.SelectQuery {
	p := strings.TrimSpace(f.Payer)
	if p == "" {
		return q
	}
	like := store.LikePrefix(p)
	return q.Where("("+numberCol+" = ? OR "+nameCol+" LIKE ? ESCAPE '!')", p, like)
}

func (f SearchFilter) validate() error {
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return fault.New(fault.ErrInvalid, "date_range_invalid", "结束日期不能早于开始日期")
	}
	if len(f.Payer) > 100 {
		return fault.New(fault.ErrInvalid, "payer_invalid", "缴费人条件过长")
	}
	return nil
}

// ---------- payments ----------

// PaymentSearchRow is one bill's share of one payment.
type PaymentSearchRow struct {
	PaymentID    int64     `bun:"payment_id"`
	TradeNo      string    `bun:"trade_no"`
	OrderNo      string    `bun:"order_no"`
	Channel      string    `bun:"channel"`
	PayerName    string    `bun:"payer_name"`
	PayerNo      string    `bun:"payer_no"`
	ItemName     string    `bun:"item_name"`
	Department   string    `bun:"department"`
	AmountFen    int64     `bun:"amount_fen"`   // what the payment carried for this bill
	CreditedFen  int64     `bun:"credited_fen"` // what the bill took: collected
	Late         bool      `bun:"late"`
	PaidAt       time.Time `bun:"paid_at"`
	LineID       int64     `bun:"line_id"`
	DepartmentID int64     `bun:"department_id"`
	ItemID       int64     `bun:"item_id"`
}

// OverpaidFen is what of the row no bill took.
func (r PaymentSearchRow) OverpaidFen() int64 { return r.AmountFen - r.CreditedFen }

// PaymentSearchTotals adds up every row of a payment search.
type PaymentSearchTotals struct {
	Count       int64 `bun:"count"`    // rows: bills credited by a payment
	Payments    int64 `bun:"payments"` // distinct payments
	AmountFen   int64 `bun:"amount_fen"`
	CreditedFen int64 `bun:"credited_fen"`
	OverpaidFen int64 `bun:"overpaid_fen"`
}

// lineCreditedSQL is what one order line of a payment credited to its bill: the line's amount
// less what was flagged as overpaid on that bill; nothing when the payment credited nothing
// at all (its order had been paid already: the whole payment is an overpayment).
const lineCreditedSQL = "(CASE WHEN p.credited_fen = 0 THEN 0 ELSE ol.amount_fen - COALESCE(op.amount_fen, 0) END)"

func (s *Service) paymentSearchQuery(f PaymentSearch) *bun.SelectQuery {
	// With a date range, read payments by time first and look up their lines, bills and
	// items: MySQL's optimizer otherwise may start from the 20 items and walk every bill.
	join := "JOIN"
	if store.DialectOf(s.DB) == store.MySQL && (!f.From.IsZero() || !f.To.IsZero()) {
		join = "STRAIGHT_JOIN"
	}
	q := s.DB.NewSelect().TableExpr("payments AS p").
		Join(join + " order_lines AS ol ON ol.order_id = p.order_id").
		Join(join + " bills AS b ON b.id = ol.bill_id").
		Join(join + " charge_items AS ci ON ci.id = b.item_id").
		Join("LEFT JOIN overpayments AS op ON op.payment_id = p.id AND op.bill_id = ol.bill_id")
	return f.paymentWhere(q)
}

func (f PaymentSearch) paymentWhere(q *bun.SelectQuery) *bun.SelectQuery {
	q = f.departments(q)
	q = f.between(q, "p.paid_at")
	if f.Channel != "" {
		q = q.Where("p.channel = ?", f.Channel)
	}
	switch f.Status {
	case PaymentLate:
		q = q.Where("p.late = ?", true)
	case PaymentOverpaid:
		q = q.Where("(p.credited_fen = 0 OR op.amount_fen IS NOT NULL)")
	case PaymentCredited:
		q = q.Where("p.late = ?", false).Where("p.credited_fen > 0 AND op.amount_fen IS NULL")
	}
	if strings.TrimSpace(f.Payer) != "" {
		q = q.Join("LEFT JOIN users AS pu ON pu.id = b.payer_id")
		q = f.payer(q, "pu.payer_no", "b.payer_name")
	}
	return q
}

// SearchPayments returns one page of collections, newest first, and the totals of all of
// them.
func (s *Service) SearchPayments(ctx context.Context, f PaymentSearch, offset, limit int) ([]PaymentSearchRow, PaymentSearchTotals, error) {
	tot, err := s.SumPayments(ctx, f)
	if err != nil {
		return nil, tot, err
	}
	var rows []PaymentSearchRow
	if err := s.paymentSearchRows(f).Limit(int64(limit)).Offset(int64(offset)).Scan(ctx, &rows); err != nil {
		return nil, tot, fmt.Errorf("reports: search payments: %w", err)
	}
	return rows, tot, nil
}

// SumPayments adds up every collection a search finds.
func (s *Service) SumPayments(ctx context.Context, f PaymentSearch) (PaymentSearchTotals, error) {
	var tot PaymentSearchTotals
	if err := f.validate(); err != nil {
		return tot, err
	}
	err := s.paymentSearchQuery(f).ColumnExpr("COUNT(*) AS count, COUNT(DISTINCT p.id) AS payments").
		ColumnExpr("COALESCE(SUM(ol.amount_fen), 0) AS amount_fen").
		ColumnExpr("COALESCE(SUM("+lineCreditedSQL+"), 0) AS credited_fen").
		ColumnExpr("COALESCE(SUM(ol.amount_fen - "+lineCreditedSQL+"), 0) AS overpaid_fen").
		Scan(ctx, &tot)
	if err != nil {
		return tot, fmt.Errorf("reports: payment totals: %w", err)
	}
	return tot, nil
}

func (s *Service) paymentSearchRows(f PaymentSearch) *bun.SelectQuery {
	return s.paymentSearchQuery(f).
		Join("JOIN orders AS o ON o.id = p.order_id").
		Join("JOIN departments AS d ON d.id = ci.department_id").
		Join("LEFT JOIN users AS u ON u.id = b.payer_id").
		ColumnExpr("p.id AS payment_id, p.trade_no, o.order_no, p.channel, b.payer_name, COALESCE(u.payer_no, '') AS payer_no").
		ColumnExpr("ci.name AS item_name, d.name AS department, ol.amount_fen").
		ColumnExpr(lineCreditedSQL + " AS credited_fen").
		ColumnExpr("p.late, p.paid_at, ol.id AS line_id, ci.department_id, ci.id AS item_id").
		OrderExpr("p.paid_at DESC, p.id DESC, ol.id")
}

// EachPayment calls fn with every row of a payment search, newest first: what an export
// writes. It refuses a search of more than MaxExportRows rows.
func (s *Service) EachPayment(ctx context.Context, f PaymentSearch, fn func(PaymentSearchRow) error) (PaymentSearchTotals, error) {
	tot, err := s.SumPayments(ctx, f)
	if err != nil {
		return tot, err
	}
	if err := CheckExportSize(tot.Count); err != nil {
		return tot, err
	}
	return tot, eachRow(ctx, s.DB, s.paymentSearchRows(f), fn)
}

// ---------- orders ----------

// OrderSearchRow is an order with what its lines matching the filter add up to.
type OrderSearchRow struct {
	OrderNo   string            `bun:"order_no"`
	PayerName string            `bun:"payer_name"`
	PayerNo   string            `bun:"payer_no"`
	Channel   string            `bun:"channel"`
	Status    store.OrderStatus `bun:"status"`
	ItemName  string            `bun:"item_name"` // the first item; Lines tells how many
	Lines     int64             `bun:"line_count"`
	AmountFen int64             `bun:"amount_fen"`
	CreatedAt time.Time         `bun:"created_at"`
	PaidAt    *time.Time        `bun:"paid_at"`
}

// OrderSearchTotals adds up every row of an order search.
type OrderSearchTotals struct {
	Count     int64 `bun:"count"`
	AmountFen int64 `bun:"amount_fen"`
	PaidFen   int64 `bun:"paid_fen"` // of which in paid orders
}

func (s *Service) orderSearchQuery(f OrderSearch) *bun.SelectQuery {
	q := s.DB.NewSelect().TableExpr("orders AS o").
		Join("JOIN order_lines AS ol ON ol.order_id = o.id").
		Join("JOIN bills AS b ON b.id = ol.bill_id").
		Join("JOIN charge_items AS ci ON ci.id = b.item_id").
		Join("LEFT JOIN users AS u ON u.id = o.payer_id")
	q = f.departments(q)
	q = f.between(q, "o.created_at")
	q = f.payer(q, "u.payer_no", "o.payer_name")
	if f.Channel != "" {
		q = q.Where("o.channel = ?", f.Channel)
	}
	if f.Status != "" {
		q = q.Where("o.status = ?", f.Status)
	}
	return q
}

// SearchOrders returns one page of orders, newest first, and the totals of all of them.
func (s *Service) SearchOrders(ctx context.Context, f OrderSearch, offset, limit int) ([]OrderSearchRow, OrderSearchTotals, error) {
	tot, err := s.SumOrders(ctx, f)
	if err != nil {
		return nil, tot, err
	}
	var rows []OrderSearchRow
	if err := s.orderSearchRows(f).Limit(int64(limit)).Offset(int64(offset)).Scan(ctx, &rows); err != nil {
		return nil, tot, fmt.Errorf("reports: search orders: %w", err)
	}
	return rows, tot, nil
}

// SumOrders adds up every order a search finds.
func (s *Service) SumOrders(ctx context.Context, f OrderSearch) (OrderSearchTotals, error) {
	var tot OrderSearchTotals
	if err := f.validate(); err != nil {
		return tot, err
	}
	err := s.orderSearchQuery(f).ColumnExpr("COUNT(DISTINCT o.id) AS count, COALESCE(SUM(ol.amount_fen), 0) AS amount_fen").
		ColumnExpr("COALESCE(SUM(CASE WHEN o.status = ? THEN ol.amount_fen ELSE 0 END), 0) AS paid_fen", store.OrderPaid).
		Scan(ctx, &tot)
	if err != nil {
		return tot, fmt.Errorf("reports: order totals: %w", err)
	}
	return tot, nil
}

func (s *Service) orderSearchRows(f OrderSearch) *bun.SelectQuery {
	return s.orderSearchQuery(f).
		ColumnExpr("o.order_no, o.payer_name, COALESCE(u.payer_no, '') AS payer_no, o.channel, o.status").
		ColumnExpr("MIN(ci.name) AS item_name, COUNT(*) AS line_count, SUM(ol.amount_fen) AS amount_fen, o.created_at, o.paid_at").
		GroupExpr("o.id, o.order_no, o.payer_name, u.payer_no, o.channel, o.status, o.created_at, o.paid_at").
		OrderExpr("o.created_at DESC, o.id DESC")
}

// EachOrder calls fn with every row of an order search (see EachPayment).
func (s *Service) EachOrder(ctx context.Context, f OrderSearch, fn func(OrderSearchRow) error) (OrderSearchTotals, error) {
	tot, err := s.SumOrders(ctx, f)
	if err != nil {
		return tot, err
	}
	if err := CheckExportSize(tot.Count); err != nil {
		return tot, err
	}
	return tot, eachRow(ctx, s.DB, s.orderSearchRows(f), fn)
}

// ---------- bills ----------

// BillSearchRow is a bill with its item, department and payer.
type BillSearchRow struct {
	ID                int64            `bun:"id"`
	BillNo            string           `bun:"bill_no"`
	PayerName         string           `bun:"payer_name"`
	PayerNo           string           `bun:"payer_no"`
	ItemName          string           `bun:"item_name"`
	Department        string           `bun:"department"`
	AmountDueFen      int64            `bun:"amount_due_fen"`
	AmountPaidFen     int64            `bun:"amount_paid_fen"`
	AmountRefundedFen int64            `bun:"amount_refunded_fen"`
	Status            store.BillStatus `bun:"status"`
	CreatedAt         time.Time        `bun:"created_at"`
	PaidAt            *time.Time       `bun:"paid_at"`
}

// OutstandingFen is what the payer still owes, as store.Bill counts it.
func (r BillSearchRow) OutstandingFen() int64 {
	b := store.Bill{Status: r.Status, AmountDueFen: r.AmountDueFen, AmountPaidFen: r.AmountPaidFen}
	return b.OutstandingFen()
}

// BillSearchTotals adds up every row of a bill search.
type BillSearchTotals struct {
	Count          int64 `bun:"count"`
	DueFen         int64 `bun:"due_fen"`
	PaidFen        int64 `bun:"paid_fen"`
	RefundedFen    int64 `bun:"refunded_fen"`
	OutstandingFen int64 `bun:"outstanding_fen"`
}

// billOutstandingSQL is store.Bill.OutstandingFen in SQL.
const billOutstandingSQL = "(CASE WHEN b.status <> 'cancelled' AND b.amount_due_fen > b.amount_paid_fen THEN b.amount_due_fen - b.amount_paid_fen ELSE 0 END)"

func (s *Service) billSearchQuery(f BillSearch) *bun.SelectQuery {
	q := s.DB.NewSelect().TableExpr("bills AS b").
		Join("JOIN charge_items AS ci ON ci.id = b.item_id").
		Join("LEFT JOIN users AS u ON u.id = b.payer_id")
	q = f.departments(q)
	q = f.between(q, "b.created_at")
	q = f.payer(q, "u.payer_no", "b.payer_name")
	if f.Status != "" {
		q = q.Where("b.status = ?", f.Status)
	}
	if f.Channel != "" {
		q = q.Where("EXISTS (SELECT 1 FROM order_lines AS cl JOIN payments AS cp ON cp.order_id = cl.order_id WHERE cl.bill_id = b.id AND cp.channel = ?)", f.Channel)
	}
	return q
}

// SearchBills returns one page of bills, newest first, and the totals of all of them.
func (s *Service) SearchBills(ctx context.Context, f BillSearch, offset, limit int) ([]BillSearchRow, BillSearchTotals, error) {
	tot, err := s.SumBills(ctx, f)
	if err != nil {
		return nil, tot, err
	}
	var rows []BillSearchRow
	if err := s.billSearchRows(f).Limit(int64(limit)).Offset(int64(offset)).Scan(ctx, &rows); err != nil {
		return nil, tot, fmt.Errorf("reports: search bills: %w", err)
	}
	return rows, tot, nil
}

// SumBills adds up every bill a search finds.
func (s *Service) SumBills(ctx context.Context, f BillSearch) (BillSearchTotals, error) {
	var tot BillSearchTotals
	if err := f.validate(); err != nil {
		return tot, err
	}
	err := s.billSearchQuery(f).ColumnExpr("COUNT(*) AS count").
		ColumnExpr("COALESCE(SUM(b.amount_due_fen), 0) AS due_fen, COALESCE(SUM(b.amount_paid_fen), 0) AS paid_fen").
		ColumnExpr("COALESCE(SUM(b.amount_refunded_fen), 0) AS refunded_fen").
		ColumnExpr("COALESCE(SUM("+billOutstandingSQL+"), 0) AS outstanding_fen").
		Scan(ctx, &tot)
	if err != nil {
		return tot, fmt.Errorf("reports: bill totals: %w", err)
	}
	return tot, nil
}

func (s *Service) billSearchRows(f BillSearch) *bun.SelectQuery {
	return s.billSearchQuery(f).Join("JOIN departments AS d ON d.id = ci.department_id").
		ColumnExpr("b.id, b.bill_no, b.payer_name, COALESCE(u.payer_no, '') AS payer_no, ci.name AS item_name, d.name AS department").
		ColumnExpr("b.amount_due_fen, b.amount_paid_fen, b.amount_refunded_fen, b.status, b.created_at, b.paid_at").
		OrderExpr("b.created_at DESC, b.id DESC")
}

// EachBill calls fn with every row of a bill search (see EachPayment).
func (s *Service) EachBill(ctx context.Context, f BillSearch, fn func(BillSearchRow) error) (BillSearchTotals, error) {
	tot, err := s.SumBills(ctx, f)
	if err != nil {
		return tot, err
	}
	if err := CheckExportSize(tot.Count); err != nil {
		return tot, err
	}
	return tot, eachRow(ctx, s.DB, s.billSearchRows(f), fn)
}

// ---------- shared ----------

// CheckExportSize refuses an export of more than MaxExportRows rows with a message saying
// how to narrow it.
func CheckExportSize(n int64) error {
	if n > MaxExportRows {
		return fault.New(fault.ErrInvalid, "export_too_large", "共 %d 行，超过单次导出上限 %d 行：请缩小日期范围或增加筛选条件后再导出", n, MaxExportRows)
	}
	return nil
}

// eachRow runs q and calls fn with each row as it is read, without holding them all.
func eachRow[T any](ctx context.Context, db *bun.DB, q *bun.SelectQuery, fn func(T) error) error {
	rows, err := q.Rows(ctx)
	if err != nil {
		return fmt.Errorf("reports: export: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r T
		if err := db.ScanRow(ctx, rows, &r); err != nil {
			return fmt.Errorf("reports: export: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// SearchChoices are the items and departments a search form offers to a scope.
type SearchChoices struct {
	Departments []*store.Department
	Items       []*store.ChargeItem
	Channels    []string
}

// SearchChoices lists what the search forms offer: the departments and items the scope may
// see, and the configured channels.
func (s *Service) SearchChoices(ctx context.Context, scope *int64) (*SearchChoices, error) {
	out := &SearchChoices{}
	dq := s.DB.NewSelect().Model(&out.Departments).OrderExpr("code")
	iq := s.DB.NewSelect().Model(&out.Items).Column("id", "code", "name", "department_id", "status").OrderExpr("code")
	if scope != nil {
		dq = dq.Where("id = ?", *scope)
		iq = iq.Where("department_id = ?", *scope)
	}
	if err := dq.Scan(ctx); err != nil {
		return nil, fmt.Errorf("reports: search choices: %w", err)
	}
	if err := iq.Limit(1000).Scan(ctx); err != nil {
		return nil, fmt.Errorf("reports: search choices: %w", err)
	}
	for name := range s.Channels {
		out.Channels = append(out.Channels, name)
	}
	slices.Sort(out.Channels)
	return out, nil
}

// ---------- refunds ----------

// RefundSearchRow is a refund with the bill, item and department it returns money for. A
// refund of an overpayment that no bill took has no item or department.
type RefundSearchRow struct {
	RefundNo    string             `bun:"refund_no"`
	OrderNo     string             `bun:"order_no"`
	PayerName   string             `bun:"payer_name"`
	PayerNo     string             `bun:"payer_no"`
	ItemName    string             `bun:"item_name"`
	Department  string             `bun:"department"`
	Channel     string             `bun:"channel"`
	AmountFen   int64              `bun:"amount_fen"`
	Reason      string             `bun:"reason"`
	Status      store.RefundStatus `bun:"status"`
	RequestedBy string             `bun:"requested_by"`
	RequestedAt time.Time          `bun:"requested_at"`
	FinishedAt  *time.Time         `bun:"finished_at"`
}

// RefundSearchTotals adds up every row of a refund search.
type RefundSearchTotals struct {
	Count        int64 `bun:"count"`
	AmountFen    int64 `bun:"amount_fen"`
	SucceededFen int64 `bun:"succeeded_fen"` // of which returned to the payer
}

func (s *Service) refundSearchQuery(f RefundSearch) *bun.SelectQuery {
	q := s.DB.NewSelect().TableExpr("refunds AS r").
		Join("JOIN orders AS o ON o.id = r.order_id").
		Join("LEFT JOIN overpayments AS op ON op.id = r.overpayment_id").
		Join("LEFT JOIN bills AS b ON b.id = COALESCE(r.bill_id, op.bill_id)").
		Join("LEFT JOIN charge_items AS ci ON ci.id = b.item_id").
		Join("LEFT JOIN users AS u ON u.id = o.payer_id")
	q = f.departments(q)
	q = f.between(q, "r.requested_at")
	q = f.payer(q, "u.payer_no", "o.payer_name")
	if f.Channel != "" {
		q = q.Where("r.channel = ?", f.Channel)
	}
	if f.Status != "" {
		q = q.Where("r.status = ?", f.Status)
	}
	return q
}

// SearchRefunds returns one page of refunds, newest first, and the totals of all of them.
func (s *Service) SearchRefunds(ctx context.Context, f RefundSearch, offset, limit int) ([]RefundSearchRow, RefundSearchTotals, error) {
	tot, err := s.SumRefunds(ctx, f)
	if err != nil {
		return nil, tot, err
	}
	var rows []RefundSearchRow
	if err := s.refundSearchRows(f).Limit(int64(limit)).Offset(int64(offset)).Scan(ctx, &rows); err != nil {
		return nil, tot, fmt.Errorf("reports: search refunds: %w", err)
	}
	return rows, tot, nil
}

// SumRefunds adds up every refund a search finds.
func (s *Service) SumRefunds(ctx context.Context, f RefundSearch) (RefundSearchTotals, error) {
	var tot RefundSearchTotals
	if err := f.validate(); err != nil {
		return tot, err
	}
	err := s.refundSearchQuery(f).ColumnExpr("COUNT(*) AS count, COALESCE(SUM(r.amount_fen), 0) AS amount_fen").
		ColumnExpr("COALESCE(SUM(CASE WHEN r.status = ? THEN r.amount_fen ELSE 0 END), 0) AS succeeded_fen", store.RefundSucceeded).
		Scan(ctx, &tot)
	if err != nil {
		return tot, fmt.Errorf("reports: refund totals: %w", err)
	}
	return tot, nil
}

func (s *Service) refundSearchRows(f RefundSearch) *bun.SelectQuery {
	return s.refundSearchQuery(f).Join("LEFT JOIN departments AS d ON d.id = ci.department_id").
		ColumnExpr("r.refund_no, o.order_no, o.payer_name, COALESCE(u.payer_no, '') AS payer_no").
		ColumnExpr("COALESCE(ci.name, '') AS item_name, COALESCE(d.name, '') AS department").
		ColumnExpr("r.channel, r.amount_fen, r.reason, r.status, r.requested_by, r.requested_at, r.finished_at").
		OrderExpr("r.requested_at DESC, r.id DESC")
}

// EachRefund calls fn with every row of a refund search (see EachPayment).
func (s *Service) EachRefund(ctx context.Context, f RefundSearch, fn func(RefundSearchRow) error) (RefundSearchTotals, error) {
	tot, err := s.SumRefunds(ctx, f)
	if err != nil {
		return tot, err
	}
	if err := CheckExportSize(tot.Count); err != nil {
		return tot, err
	}
	return tot, eachRow(ctx, s.DB, s.refundSearchRows(f), fn)
}

// StatusLabel is the refund's status as people read it.
func (r RefundSearchRow) StatusLabel() string { return billing.RefundStatusLabel(r.Status) }
