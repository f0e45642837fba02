package recon

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/fault"
	"campuspay/store"
)

// DiscrepancyTypes are the types with their labels, in the order the queue filters them.
var DiscrepancyTypes = []struct{ Value, Label string }{
	{store.DiscMissingPlatform, "平台缺失"},
	{store.DiscMissingChannel, "渠道缺失"},
	{store.DiscAmountDiffers, "金额不符"},
	{store.DiscStatusDiffers, "状态不符"},
	{store.DiscSettlementUnmatched, "结算未到账"},
	{store.DiscBankUnexplained, "银行不明收入"},
}

// TypeLabel is a discrepancy type in Chinese.
func TypeLabel(t string) string {
	for _, d := range DiscrepancyTypes {
		if d.Value == t {
			return d.Label
		}
	}
	return t
}

// StatusLabel is a discrepancy status in Chinese.
func StatusLabel(s string) string {
	switch s {
	case DiscOpen:
		return "未处理"
	case DiscResolved:
		return "已处理"
	case DiscCleared:
		return "已消除"
	}
	return s
}

// DiscrepancyFilter narrows the queue; zero values match everything.
type DiscrepancyFilter struct {
	Type   string
	Status string
	Source string
	Day    time.Time
}

// Discrepancies is one page of the queue, newest day first.
func (s *Service) Discrepancies(ctx context.Context, f DiscrepancyFilter, offset, limit int) ([]*store.Discrepancy, int, error) {
	var rows []*store.Discrepancy
	q := s.db().NewSelect().Model(&rows)
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Source != "" {
		q = q.Where("source = ?", f.Source)
	}
	if !f.Day.IsZero() {
		q = q.Where("day = ?", dayOnly(f.Day))
	}
	n, err := store.ScanAndCount(ctx, q.OrderExpr("day DESC, id DESC").Offset(int64(offset)).Limit(int64(limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("recon: discrepancies: %w", err)
	}
	return rows, int(n), nil
}

// DiscrepancyByID is one discrepancy.
func (s *Service) DiscrepancyByID(ctx context.Context, id int64) (*store.Discrepancy, error) {
	d := new(store.Discrepancy)
	err := s.db().NewSelect().Model(d).Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errf(fault.ErrNotFound, "discrepancy_not_found", "差异记录不存在")
	}
	if err != nil {
		return nil, fmt.Errorf("recon: discrepancy: %w", err)
	}
	return d, nil
}

// StatementLineByID is one statement line with its statement.
func (s *Service) StatementLineByID(ctx context.Context, id int64) (*store.StatementLine, *store.Statement, error) {
	l := new(store.StatementLine)
	err := s.db().NewSelect().Model(l).Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, errf(fault.ErrNotFound, "line_not_found", "对账单明细不存在")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("recon: statement line: %w", err)
	}
	st, err := s.StatementByID(ctx, l.StatementID)
	return l, st, err
}

// Resolve closes an open discrepancy with finance's note (what was done, or why it needs
// nothing), audited.
func (s *Service) Resolve(ctx context.Context, id int64, note, actor string) (*store.Discrepancy, error) {
	note = strings.TrimSpace(note)
	if note == "" {
		return nil, errf(fault.ErrInvalid, "note_required", "请填写处理说明")
	}
	if len([]rune(note)) > 200 {
		return nil, errf(fault.ErrInvalid, "note_too_long", "处理说明不能超过 200 字")
	}
	now := store.UTC(s.now())
	err := store.InTx(ctx, s.db(), func(ctx context.Context, tx bun.Tx) error {
		d := new(store.Discrepancy)
		if err := tx.NewSelect().Model(d).Where("id = ?", id).Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errf(fault.ErrNotFound, "discrepancy_not_found", "差异记录不存在")
			}
			return fmt.Errorf("recon: resolve: %w", err)
		}
		if d.Status != DiscOpen {
			return errf(fault.ErrConflict, "discrepancy_closed", "该差异已%s，无需再处理", StatusLabel(d.Status))
		}
		res, err := tx.NewUpdate().Model((*store.Discrepancy)(nil)).
			Set("status = ?", DiscResolved).Set("note = ?", note).Set("resolved_by = ?", actor).
			Set("resolved_at = ?", now).Set("updated_at = ?", now).
			Where("id = ?", id).Where("status = ?", DiscOpen).Exec(ctx)
		if err != nil {
			return fmt.Errorf("recon: resolve: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errf(fault.ErrConflict, "discrepancy_closed", "该差异已被处理")
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: actor, Action: "discrepancy.resolved", TargetType: "discrepancy",
			TargetID: fmt.Sprint(id), Detail: truncate(fmt.Sprintf("%s %s %s %s: %s", d.Kind, d.Source, dayText(d.Day), d.ItemKey, note), 1000)})
	})
	if err != nil {
		return nil, err
	}
	return s.DiscrepancyByID(ctx, id)
}

// Order is a platform order by its number, for a discrepancy's page.
func (s *Service) Order(ctx context.Context, orderNo string) (*store.Order, error) {
	o := new(store.Order)
	err := s.db().NewSelect().Model(o).Where("order_no = ?", orderNo).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errf(fault.ErrNotFound, "order_not_found", "订单不存在")
	}
	if err != nil {
		return nil, fmt.Errorf("recon: order: %w", err)
	}
	return o, nil
}
