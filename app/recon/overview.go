package recon

import (
	"context"
	"fmt"
	"time"

	"campuspay/store"
)

// SourceDay is one source's reconciliation of one day, as the overview shows it.
type SourceDay struct {
	Source    string
	Label     string
	Statement *store.Statement // the latest version; nil before it is fetched
	Run       *store.ReconRun  // the latest run against the platform (channels) or of the credits (banks)
	BankRun   *store.ReconRun  // channels: the latest run of the settlement against the bank
	Open      int              // open discrepancies of the day
}

// DayOverview is a day's reconciliation across the channels and the banks.
type DayOverview struct {
	Day      time.Time
	Channels []SourceDay
	Banks    []SourceDay // the bank statements of the next day, whose credits RunBank(Day) checks
	BankDay  time.Time
	Open     int // open discrepancies of the day
	OpenAll  int // open discrepancies of every day
}

// Overview gathers a day's statements, latest runs and open discrepancies.
func (s *Service) Overview(ctx context.Context, day time.Time) (*DayOverview, error) {
	day = dayOnly(day)
	ov := &DayOverview{Day: day, BankDay: day.AddDate(0, 0, 1)}
	open := map[string]int{}
	var counts []struct {
		Source string `bun:"source"`
		N      int    `bun:"n"`
	}
	if err := s.db().NewSelect().Model((*store.Discrepancy)(nil)).ColumnExpr("source, COUNT(*) AS n").
		Where("day = ? AND status = ?", day, DiscOpen).GroupExpr("source").Scan(ctx, &counts); err != nil {
		return nil, fmt.Errorf("recon: overview: %w", err)
	}
	for _, c := range counts {
		open[c.Source] = c.N
		ov.Open += c.N
	}
	n, err := s.db().NewSelect().Model((*store.Discrepancy)(nil)).Where("status = ?", DiscOpen).Count(ctx)
	if err != nil {
		return nil, fmt.Errorf("recon: overview: %w", err)
	}
	ov.OpenAll = int(n)
	for _, name := range s.Channels(ctx) {
		sd := SourceDay{Source: name, Label: SourceLabel(name), Open: open[name]}
		if sd.Statement, err = s.latestOrNil(ctx, name, day); err != nil {
			return nil, err
		}
		if sd.Run, err = s.latestRun(ctx, RunChannel, name, day); err != nil {
			return nil, err
		}
		if sd.BankRun, err = s.latestRun(ctx, RunBank, name, day); err != nil {
			return nil, err
		}
		ov.Channels = append(ov.Channels, sd)
	}
	var banks []*store.Statement
	if err := s.db().NewSelect().Model(&banks).Where("source LIKE ?", bankPrefix+"%").Where("day = ?", ov.BankDay).
		Where("superseded = ?", false).OrderExpr("source").Scan(ctx); err != nil {
		return nil, fmt.Errorf("recon: overview banks: %w", err)
	}
	for _, st := range banks {
		sd := SourceDay{Source: st.Source, Label: SourceLabel(st.Source), Statement: st}
		if sd.Open, err = s.openCount(ctx, st.Source, ov.BankDay); err != nil {
			return nil, err
		}
		if sd.Run, err = s.latestRun(ctx, RunBank, st.Source, ov.BankDay); err != nil {
			return nil, err
		}
		ov.Banks = append(ov.Banks, sd)
	}
	return ov, nil
}

func (s *Service) openCount(ctx context.Context, source string, day time.Time) (int, error) {
	n, err := s.db().NewSelect().Model((*store.Discrepancy)(nil)).
		Where("source = ? AND day = ? AND status = ?", source, dayOnly(day), DiscOpen).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("recon: open discrepancies: %w", err)
	}
	return int(n), nil
}

func (s *Service) latestOrNil(ctx context.Context, source string, day time.Time) (*store.Statement, error) {
	st, err := s.LatestStatement(ctx, source, day)
	if isNotFound(err) {
		return nil, nil
	}
	return st, err
}

func (s *Service) latestRun(ctx context.Context, kind, source string, day time.Time) (*store.ReconRun, error) {
	var runs []*store.ReconRun
	err := s.db().NewSelect().Model(&runs).Where("kind = ? AND source = ? AND day = ?", kind, source, dayOnly(day)).
		OrderExpr("id DESC").Limit(1).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("recon: latest run: %w", err)
	}
	if len(runs) == 0 {
		return nil, nil
	}
	return runs[0], nil
}

// Runs is one page of the runs, newest first (the nightly job's own records left out).
func (s *Service) Runs(ctx context.Context, offset, limit int) ([]*store.ReconRun, int, error) {
	var rows []*store.ReconRun
	n, err := store.ScanAndCount(ctx, s.db().NewSelect().Model(&rows).Where("kind <> ?", RunNightly).OrderExpr("id DESC").
		Offset(int64(offset)).Limit(int64(limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("recon: runs: %w", err)
	}
	return rows, int(n), nil
}
