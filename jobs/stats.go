package jobs

import (
	"context"
	"log/slog"

	"campuspay/app/reports"
)

// StatsBackfill is how many days back the daily report snapshot looks for days to write.
const StatsBackfill = 400

// SnapshotStats is the daily report snapshot: it writes stats_daily for every closed day of
// the last StatsBackfill days that has no snapshot yet, and rewrites the days that closed
// less than reports.SnapshotSettle ago (late notifications, payments repaired by
// reconciliation). The dashboards read closed days from it and compute today, and any day
// it has not written, live — so they are right whether or not it ran. Run it every few
// minutes (say every 10): each run after the first rewrites two or three days.
func SnapshotStats(r *reports.Service, log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		n, err := r.RefreshStats(ctx, StatsBackfill)
		if err != nil {
			log.Error("job snapshot-stats", "err", err)
			markFailed(ctx)
			return
		}
		if n > 0 {
			log.Info("job snapshot-stats", "days", n)
		}
	}
}
