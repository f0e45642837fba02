package jobs

import (
	"context"
	"log/slog"

	"campuspay/app/reports"
)

// FoldItemTotals folds the item deltas that triggers on bills append into item_totals
// (reports.Service.FoldItemTotals). Readers add the unfolded deltas themselves, so the
// figures are right whether or not it ran; it keeps that tail short. Run it every few
// seconds.
func FoldItemTotals(r *reports.Service, log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		if _, err := r.FoldItemTotals(ctx); err != nil {
			log.Error("job fold-item-totals", "err", err)
			markFailed(ctx)
		}
	}
}
