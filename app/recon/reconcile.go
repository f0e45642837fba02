package recon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"campuspay/app/bizday"
	"campuspay/app/settings"
	"campuspay/store"
)

// Outcome is what a reconciliation of a day did, for the person who asked.
type Outcome struct {
	Statements []*StatementResult
	Runs       []*store.ReconRun
}

// Changed reports whether a fetched statement came with different content than before.
func (o *Outcome) Changed() bool {
	for _, st := range o.Statements {
		if st.Changed && st.Previous != nil {
			return true
		}
	}
	return false
}

// ReconcileChannel fetches a channel's statement of a day again (a changed statement
// becomes a new version, with a warning) and reconciles the day.
func (s *Service) ReconcileChannel(ctx context.Context, name string, day time.Time, actor string) (*Outcome, error) {
	res, err := s.FetchStatement(ctx, name, day, actor)
	if err != nil {
		return nil, err
	}
	run, err := s.RunChannel(ctx, name, day, actor)
	out := &Outcome{Statements: []*StatementResult{res}}
	if run != nil {
		out.Runs = append(out.Runs, run)
	}
	return out, err
}

// ReconcileBank fetches the bank's statements of the settlement window of a day (those
// the bank has, and the channels' statements of the day when they are not in yet) and
// reconciles the day's settlements and the next day's credits.
func (s *Service) ReconcileBank(ctx context.Context, day time.Time, actor string) (*Outcome, error) {
	day = dayOnly(day)
	out := &Outcome{}
	for _, name := range s.Channels(ctx) {
		if _, err := s.LatestStatement(ctx, name, day); isNotFound(err) {
			if res, err := s.FetchStatement(ctx, name, day, actor); err == nil {
				out.Statements = append(out.Statements, res)
			}
		}
	}
	if s.Bank != nil {
		for i := 1; i <= SettleWindow; i++ {
			d := day.AddDate(0, 0, i)
			if !d.Before(s.Today()) {
				break
			}
			res, err := s.FetchStatement(ctx, "bank", d, actor)
			if err != nil {
				s.log().Warn("recon: bank statement not fetched", "day", dayText(d), "err", err)
				continue
			}
			out.Statements = append(out.Statements, res)
		}
	}
	runs, err := s.RunBank(ctx, day, actor)
	out.Runs = runs
	return out, err
}

// ReconcileDay is the nightly work for a closed day: every enabled channel's statement
// fetched and reconciled; the bank's statement of the day fetched; the settlements of the
// SettleWindow days before reconciled with the bank (again, as later statements may
// clear what an earlier run flagged). It goes on past a failure and reports them all.
func (s *Service) ReconcileDay(ctx context.Context, day time.Time, actor string) (*Outcome, error) {
	day = dayOnly(day)
	out := &Outcome{}
	var errs []error
	for _, name := range s.Channels(ctx) {
		o, err := s.ReconcileChannel(ctx, name, day, actor)
		if o != nil {
			out.Statements = append(out.Statements, o.Statements...)
			out.Runs = append(out.Runs, o.Runs...)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if s.Bank != nil {
		res, err := s.FetchStatement(ctx, "bank", day, actor)
		if err != nil {
			errs = append(errs, fmt.Errorf("bank: %w", err))
		} else {
			out.Statements = append(out.Statements, res)
		}
	}
	for i := 1; i <= SettleWindow; i++ {
		runs, err := s.RunBank(ctx, day.AddDate(0, 0, -i), actor)
		out.Runs = append(out.Runs, runs...)
		if err != nil {
			errs = append(errs, fmt.Errorf("bank runs: %w", err))
		}
	}
	return out, errors.Join(errs...)
}

// NightlyActor is who the audit log names for the nightly job.
const NightlyActor = "system:recon"

// nightlyRetry is how long after a failed nightly run the job tries the day again.
const nightlyRetry = 30 * time.Minute

// Nightly reconciles yesterday once the configured time of day (settings.ReconTime,
// Asia/Shanghai) has passed, and records that it did in recon_runs (kind "nightly"): it is
// safe to call every few minutes, from every instance. It reports whether it worked.
func (s *Service) Nightly(ctx context.Context) (bool, error) {
	now := s.now()
	local := now.In(bizday.Shanghai)
	hour, minute := 2, 30
	if s.Billing.Settings != nil {
		hour, minute = s.Billing.Settings.TimeOfDay(ctx, settings.ReconTime)
	}
	if local.Hour()*60+local.Minute() < hour*60+minute {
		return false, nil
	}
	day := bizday.DayOf(now).AddDate(0, 0, -1)
	last, err := s.latestRun(ctx, RunNightly, "all", day)
	if err != nil {
		return false, err
	}
	if last != nil && (last.Status == RunDone || now.Sub(last.StartedAt) < nightlyRetry) {
		return false, nil
	}
	unlock, err := s.lock(ctx, "recon:nightly")
	if err != nil {
		return false, nil // another instance is at it
	}
	defer unlock()
	run, err := s.startRun(ctx, RunNightly, "all", day, nil, NightlyActor)
	if err != nil {
		return false, err
	}
	out, rerr := s.ReconcileDay(ctx, day, NightlyActor)
	finished := store.UTC(s.now())
	run.FinishedAt, run.Status = &finished, RunDone
	for _, r := range out.Runs {
		run.MatchedCount += r.MatchedCount
		run.MatchedFen += r.MatchedFen
		run.RepairedCount += r.RepairedCount
		run.DiscrepancyCount += r.DiscrepancyCount
	}
	if rerr != nil {
		run.Status, run.Message = RunFailed, truncate(rerr.Error(), 500)
	}
	if _, err := s.db().NewUpdate().Model(run).
		Column("status", "finished_at", "matched_count", "matched_fen", "repaired_count", "discrepancy_count", "message").
		WherePK().Exec(context.WithoutCancel(ctx)); err != nil {
		return true, fmt.Errorf("recon: nightly record: %w", err)
	}
	return true, rerr
}
