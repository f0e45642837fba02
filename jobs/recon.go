package jobs

import (
	"context"
	"log/slog"

	"campuspay/app/recon"
)

// Reconcile is the nightly reconciliation: once the time of day in the settings
// (recon.time, Asia/Shanghai) has passed, it fetches every enabled channel's statement of
// yesterday and reconciles it with the platform, fetches the bank's statement and
// reconciles the channels' settlements with it. It records the day's work in recon_runs,
// so it is safe to run every few minutes: it does the work once a day (and tries again
// half an hour after a failure).
func Reconcile(rs *recon.Service, log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		ran, err := rs.Nightly(ctx)
		if err != nil {
			log.Error("job reconcile", "err", err)
			markFailed(ctx)
			return
		}
		if ran {
			log.Info("job reconcile", "day", rs.Today().AddDate(0, 0, -1).Format("2006-01-02"))
		}
	}
}
