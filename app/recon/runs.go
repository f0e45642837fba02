package recon

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/fault"
	"campuspay/store"
)

// Run kinds.
const (
	RunChannel = "channel" // the platform against one channel's statement
	RunBank    = "bank"    // a channel's settlement (or the bank's credits) against the bank
	RunNightly = "nightly" // the nightly job's record that it did a day's work
)

// Run statuses.
const (
	RunRunning = "running"
	RunDone    = "done"
	RunFailed  = "failed"
)

// Discrepancy statuses.
const (
	DiscOpen     = "open"
	DiscResolved = "resolved"
	DiscCleared  = "cleared"
)

// finding is one difference (or one repair) a run found.
type finding struct {
	Type            string
	ItemKey         string
	OrderNo         string
	RefundNo        string
	TradeNo         string
	PlatformFen     int64
	ChannelFen      int64
	StatementLineID *int64
	BankLineID      *int64
	Note            string
	Cleared         bool // repaired at once: recorded, already cleared
}

func (s *Service) startRun(ctx context.Context, kind, source string, day time.Time, statementID *int64, actor string) (*store.ReconRun, error) {
	run := &store.ReconRun{Kind: kind, Source: source, Day: dayOnly(day), Status: RunRunning, StatementID: statementID,
		RunBy: actor, StartedAt: store.UTC(s.now())}
	if _, err := s.db().NewInsert().Model(run).Exec(ctx); err != nil {
		return nil, fmt.Errorf("recon: start run: %w", err)
	}
	return run, nil
}

// failRun records that a run could not finish.
func (s *Service) failRun(ctx context.Context, run *store.ReconRun, cause error) {
	now := store.UTC(s.now())
	run.Status, run.FinishedAt = RunFailed, &now
	run.Message = truncate(fault.Message(cause, "对账失败："+cause.Error()), 500)
	if _, err := s.db().NewUpdate().Model(run).Column("status", "finished_at", "message").WherePK().Exec(context.WithoutCancel(ctx)); err != nil {
		s.log().Error("recon: record failed run", "run", run.ID, "err", err)
	}
	s.log().Warn("recon: run failed", "kind", run.Kind, "source", run.Source, "day", dayText(run.Day), "err", cause)
}

// finishRun writes the findings (upserted on their unique key: a rerun never adds a
// second row for the same difference), clears what this run no longer finds among the
// day's open discrepancies of the same kind and source, and closes the run, audited, in
// one transaction.
func (s *Service) finishRun(ctx context.Context, run *store.ReconRun, findings []finding, crossCleared []crossClear) error {
	now := store.UTC(s.now())
	open := 0
	err := store.InTx(ctx, s.db(), func(ctx context.Context, tx bun.Tx) error {
		open = 0
		for i := range findings {
			f := &findings[i]
			if !f.Cleared {
				open++
			}
			if err := upsertDiscrepancy(ctx, tx, run, f, now); err != nil {
				return err
			}
		}
		if _, err := tx.NewUpdate().Model((*store.Discrepancy)(nil)).
			Set("status = ?", DiscCleared).Set("updated_at = ?", now).
			Where("kind = ? AND source = ? AND day = ?", run.Kind, run.Source, run.Day).
			Where("status = ?", DiscOpen).Where("last_run_id <> ?", run.ID).Exec(ctx); err != nil {
			return fmt.Errorf("recon: clear discrepancies: %w", err)
		}
		for _, c := range crossCleared {
			if len(c.keys) == 0 {
				continue
			}
			for start := 0; start < len(c.keys); start += 500 {
				keys := c.keys[start:min(start+500, len(c.keys))]
				if _, err := tx.NewUpdate().Model((*store.Discrepancy)(nil)).
					Set("status = ?", DiscCleared).Set("updated_at = ?", now).
					Where("kind = ? AND source = ? AND day = ?", run.Kind, run.Source, c.day).
					Where("status = ?", DiscOpen).Where("item_key IN (?)", bun.In(keys)).Exec(ctx); err != nil {
					return fmt.Errorf("recon: clear neighbour discrepancies: %w", err)
				}
			}
		}
		run.Status, run.FinishedAt, run.DiscrepancyCount = RunDone, &now, open
		if _, err := tx.NewUpdate().Model(run).
			Column("status", "finished_at", "matched_count", "matched_fen", "repaired_count", "discrepancy_count", "message").
			WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("recon: finish run: %w", err)
		}
		detail := fmt.Sprintf("kind=%s source=%s day=%s matched=%d matched_fen=%d repaired=%d open=%d %s",
			run.Kind, run.Source, dayText(run.Day), run.MatchedCount, run.MatchedFen, run.RepairedCount, open, run.Message)
		return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: run.RunBy, Action: "recon.run", TargetType: "recon_run",
			TargetID: fmt.Sprint(run.ID), Detail: truncate(detail, 1000)})
	})
	return err
}

// crossClear names discrepancies of a neighbouring day that a cross-day match explains.
type crossClear struct {
	day  time.Time
	keys []string
}

func upsertDiscrepancy(ctx context.Context, tx bun.Tx, run *store.ReconRun, f *finding, now time.Time) error {
	status := DiscOpen
	if f.Cleared {
		status = DiscCleared
	}
	note := truncate(f.Note, 500)
	update := func() (int64, error) {
		res, err := tx.NewUpdate().Model((*store.Discrepancy)(nil)).
			Set("order_no = ?, refund_no = ?, trade_no = ?", f.OrderNo, f.RefundNo, f.TradeNo).
			Set("platform_fen = ?, channel_fen = ?", f.PlatformFen, f.ChannelFen).
			Set("statement_line_id = ?, bank_line_id = ?", f.StatementLineID, f.BankLineID).
			Set("last_run_id = ?, updated_at = ?", run.ID, now).
			Set("note = CASE WHEN status = ? THEN note ELSE ? END", DiscResolved, note).
			Set("status = CASE WHEN status = ? THEN status ELSE ? END", DiscResolved, status).
			Where("kind = ? AND source = ? AND day = ? AND type = ? AND item_key = ?", run.Kind, run.Source, run.Day, f.Type, f.ItemKey).
			Exec(ctx)
		if err != nil {
			return 0, fmt.Errorf("recon: update discrepancy: %w", err)
		}
		return res.RowsAffected()
	}
	n, err := update()
	if err != nil || n > 0 {
		return err
	}
	d := &store.Discrepancy{Kind: run.Kind, Source: run.Source, Day: run.Day, Type: f.Type, ItemKey: truncate(f.ItemKey, 100),
		OrderNo: f.OrderNo, RefundNo: f.RefundNo, TradeNo: f.TradeNo, PlatformFen: f.PlatformFen, ChannelFen: f.ChannelFen,
		StatementLineID: f.StatementLineID, BankLineID: f.BankLineID, Status: status, Note: note,
		FirstRunID: run.ID, LastRunID: run.ID, CreatedAt: now, UpdatedAt: now}
	if _, err := tx.NewInsert().Model(d).Exec(ctx); err != nil {
		return fmt.Errorf("recon: insert discrepancy: %w", err)
	}
	return nil
}
