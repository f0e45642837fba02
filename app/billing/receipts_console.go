package billing

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/bizday"
	"campuspay/app/fault"
	"campuspay/store"
)

// MaxPrintBatch is the most receipts one batch print shows.
const MaxPrintBatch = 1000

// ReceiptFilter narrows the receipts finance lists and prints. Every field is optional.
type ReceiptFilter struct {
	Item   string // charge item code
	Day    string // YYYY-MM-DD, a business day in Asia/bizday.Shanghai
	Payer  string // payer number, or part of the payer's name
	No     string // receipt number
	Status string // "valid", "voided", or "" for both
}

// receiptDay reads a business day (YYYY-MM-DD, Asia/bizday.Shanghai) and returns its first instant.
func receiptDay(day string) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(day), bizday.Shanghai)
	if err != nil {
		return time.Time{}, fault.New(fault.ErrInvalid, "day_invalid", "日期格式不正确，请按 2026-09-01 的格式填写")
	}
	return t, nil
}

// receiptQuery is the receipts matching f, joined to their orders. ok is false when f names
// an item that does not exist (nothing can match).
func (s *Service) receiptQuery(ctx context.Context, rows *[]*store.ReceiptRow, f ReceiptFilter) (*bun.SelectQuery, bool, error) {
	q := s.DB.NewSelect().Model(rows).ColumnExpr("receipt.*").ColumnExpr("o.order_no").
		Join("JOIN orders AS o ON o.id = receipt.order_id")
	if code := strings.TrimSpace(f.Item); code != "" {
		var itemID int64
		err := s.DB.NewSelect().Model((*store.ChargeItem)(nil)).Column("id").Where("code = ?", code).Scan(ctx, &itemID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("billing: receipt item: %w", err)
		}
		q = q.Where("receipt.bill_id IN (SELECT id FROM bills WHERE item_id = ?)", itemID)
	}
	if strings.TrimSpace(f.Day) != "" {
		start, err := receiptDay(f.Day)
		if err != nil {
			return nil, false, err
		}
		q = q.Where("receipt.issued_at >= ?", store.UTC(start)).Where("receipt.issued_at < ?", store.UTC(start.AddDate(0, 0, 1)))
	}
	if payer := strings.TrimSpace(f.Payer); payer != "" {
		q = q.Where("(receipt.payer_no = ? OR INSTR(receipt.payer_name, ?) > 0)", payer, payer)
	}
	if no := strings.TrimSpace(f.No); no != "" {
		q = q.Where("receipt.receipt_no = ?", no)
	}
	switch f.Status {
	case "valid":
		q = q.Where("receipt.voided = ?", false)
	case "voided":
		q = q.Where("receipt.voided = ?", true)
	}
	return q, true, nil
}

// Receipts returns a page of receipts matching f, newest first, and how many match in all.
func (s *Service) Receipts(ctx context.Context, f ReceiptFilter, offset, limit int) ([]*store.ReceiptRow, int, error) {
	var rows []*store.ReceiptRow
	q, ok, err := s.receiptQuery(ctx, &rows, f)
	if err != nil || !ok {
		return nil, 0, err
	}
	n, err := store.ScanAndCount(ctx, q.OrderExpr("receipt.issued_at DESC, receipt.id DESC").Offset(int64(offset)).Limit(int64(limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("billing: receipts: %w", err)
	}
	if err := s.awaitRowNumbers(ctx, rows); err != nil {
		return nil, 0, err
	}
	return rows, int(n), nil
}

// awaitRowNumbers is awaitNumbers for the console's rows.
func (s *Service) awaitRowNumbers(ctx context.Context, rows []*store.ReceiptRow) error {
	rs := make([]*store.Receipt, len(rows))
	for i, r := range rows {
		rs[i] = &r.Receipt
	}
	return s.awaitNumbers(ctx, rs)
}

// ReceiptsToPrint returns the receipts matching f in number order, at most MaxPrintBatch of
// them, in one query, and how many match in all.
func (s *Service) ReceiptsToPrint(ctx context.Context, f ReceiptFilter) ([]*store.ReceiptRow, int, error) {
	var rows []*store.ReceiptRow
	q, ok, err := s.receiptQuery(ctx, &rows, f)
	if err != nil || !ok {
		return nil, 0, err
	}
	n, err := store.ScanAndCount(ctx, q.OrderExpr("receipt.year, receipt.seq").Limit(MaxPrintBatch))
	if err != nil {
		return nil, 0, fmt.Errorf("billing: receipts to print: %w", err)
	}
	// A receipt a payment wrote a moment ago is waited for; one still without its number
	// after that is left out (a sheet is never printed without its number), and the rows
	// put back in number order (an unnumbered row sorted first).
	if err := s.awaitRowNumbers(ctx, rows); err != nil {
		return nil, 0, err
	}
	numbered := rows[:0]
	for _, r := range rows {
		if r.Numbered() {
			numbered = append(numbered, r)
		} else {
			n--
		}
	}
	slices.SortStableFunc(numbered, func(a, b *store.ReceiptRow) int {
		return cmp.Or(cmp.Compare(a.Year, b.Year), cmp.Compare(a.Seq, b.Seq))
	})
	return numbered, int(n), nil
}

// ReceiptDetail returns one receipt with its order number.
func (s *Service) ReceiptDetail(ctx context.Context, receiptNo string) (*store.ReceiptRow, error) {
	var rows []*store.ReceiptRow
	q, _, err := s.receiptQuery(ctx, &rows, ReceiptFilter{})
	if err != nil {
		return nil, err
	}
	if !validNumber(receiptNo) {
		return nil, fault.New(fault.ErrNotFound, "not_found", "票据不存在")
	}
	if err := q.Where("receipt.receipt_no = ?", receiptNo).Limit(1).Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: receipt: %w", err)
	}
	if len(rows) == 0 {
		return nil, fault.New(fault.ErrNotFound, "not_found", "票据不存在")
	}
	return rows[0], nil
}

// CountPrints records that the receipts were printed once more (a batch counts every receipt
// it showed) and returns each one's new count. Unknown numbers are left out.
func (s *Service) CountPrints(ctx context.Context, receiptNos []string, actor string) (map[string]int, error) {
	nos := make([]string, 0, len(receiptNos))
	seen := map[string]bool{}
	for _, no := range receiptNos {
		if validNumber(no) && !seen[no] {
			seen[no] = true
			nos = append(nos, no)
		}
	}
	if len(nos) == 0 {
		return nil, fault.New(fault.ErrInvalid, "no_receipts", "没有要打印的票据")
	}
	if len(nos) > MaxPrintBatch {
		return nil, fault.New(fault.ErrInvalid, "too_many_receipts", "一次最多打印 %d 张票据", MaxPrintBatch)
	}
	now := s.now()
	counts := map[string]int{}
	err := store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		clear(counts)
		if _, err := tx.NewUpdate().Model((*store.Receipt)(nil)).Set("print_count = print_count + 1").
			Where("receipt_no IN (?)", bun.In(nos)).Exec(ctx); err != nil {
			return fmt.Errorf("billing: count prints: %w", err)
		}
		var rows []*store.Receipt
		if err := tx.NewSelect().Model(&rows).Column("receipt_no", "print_count").
			Where("receipt_no IN (?)", bun.In(nos)).Scan(ctx); err != nil {
			return fmt.Errorf("billing: count prints: %w", err)
		}
		logs := make([]*store.AuditLog, 0, len(rows))
		for _, r := range rows {
			counts[r.ReceiptNo] = r.PrintCount
			detail := fmt.Sprintf("count=%d", r.PrintCount)
			if r.PrintCount > 1 {
				detail += " reprint"
			}
			logs = append(logs, &store.AuditLog{At: now, Actor: actor, Action: "receipt.printed", TargetType: "receipt", TargetID: r.ReceiptNo, Detail: detail})
		}
		if len(logs) == 0 {
			return fault.New(fault.ErrNotFound, "not_found", "票据不存在")
		}
		if _, err := tx.NewInsert().Model(&logs).Exec(ctx); err != nil {
			return fmt.Errorf("billing: audit prints: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// VoidReceipt voids a receipt with a reason: it stays on file, stamped 作废, and its
// verification page says so.
func (s *Service) VoidReceipt(ctx context.Context, receiptNo, reason, actor string) (*store.ReceiptRow, error) {
	reason, err := RefundText(reason, "作废原因")
	if err != nil {
		return nil, err
	}
	now := s.now()
	err = store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		if err := voidReceipt(ctx, tx, receiptNo, reason); err != nil {
			return err
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: actor, Action: "receipt.voided", TargetType: "receipt", TargetID: receiptNo, Detail: reason})
	})
	if err != nil {
		return nil, err
	}
	return s.ReceiptDetail(ctx, receiptNo)
}

// voidReceipt voids a live receipt inside tx, guarded so that a receipt is voided once.
func voidReceipt(ctx context.Context, tx bun.Tx, receiptNo, reason string) error {
	res, err := tx.NewUpdate().Model((*store.Receipt)(nil)).Set("voided = ?", true).Set("void_reason = ?", reason).
		Where("receipt_no = ?", receiptNo).Where("voided = ?", false).Exec(ctx)
	if err != nil {
		return fmt.Errorf("billing: void receipt: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		exists, err := tx.NewSelect().Model((*store.Receipt)(nil)).Where("receipt_no = ?", receiptNo).Exists(ctx)
		if err != nil {
			return fmt.Errorf("billing: void receipt: %w", err)
		}
		if !exists {
			return fault.New(fault.ErrNotFound, "not_found", "票据不存在")
		}
		return fault.New(fault.ErrConflict, "receipt_voided", "票据 %s 已作废", receiptNo)
	}
	return nil
}

// ReceiptItem is a charge item as the receipt filters offer it.
type ReceiptItem struct {
	Code string `bun:"code"`
	Name string `bun:"name"`
}

// ReceiptItems lists the charge items that may have receipts (approved once), by code, for
// the filters.
func (s *Service) ReceiptItems(ctx context.Context) ([]ReceiptItem, error) {
	var items []ReceiptItem
	err := s.DB.NewSelect().Model((*store.ChargeItem)(nil)).Column("code", "name").
		Where("status IN (?)", bun.In([]store.ItemStatus{store.ItemApproved, store.ItemSuspended, store.ItemClosed})).
		OrderExpr("code").Limit(1000).Scan(ctx, &items)
	if err != nil {
		return nil, fmt.Errorf("billing: receipt items: %w", err)
	}
	return items, nil
}
